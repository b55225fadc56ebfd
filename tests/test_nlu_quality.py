"""The NLU quality gate: held-out examples per language (never used for training).

Fails when a language's intent macro-F1 falls below 0.90 or its language entity is wrong on
more than 5 % of the examples. A message written the same way in several languages
(``tests/nlu/shared_languages.yml``) counts as right in any of them. The figures are computed by
``bot.nlu.evaluate`` (the code behind ``python -m bot nlu evaluate``) on the model ``make test``
trained, and printed so a trainer sees them in the test log.
"""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import held_out_examples, score_language, shared_languages
from tests.conftest import LANGUAGES

pytestmark = pytest.mark.slow

MIN_MACRO_F1 = 0.90
MAX_LANGUAGE_ERRORS = 0.05



@pytest.mark.parametrize("language", LANGUAGES)
def test_intents_and_language_on_held_out_examples(trained_parser, language):
    examples = held_out_examples(language)
    assert len(examples) >= 10 * 13
    accepted = shared_languages(language)
    assert set(accepted) <= {text for text, _ in examples}, "shared_languages.yml names unknown examples"
    scores = score_language(trained_parser.parse, language, examples, accepted)
    language_error = 1 - scores.language_accuracy
    print(
        f"\n[{language}] {scores.examples} held-out examples: intent macro-F1 {scores.macro_f1:.3f}, "
        f"language entity wrong on {language_error:.1%} ({1 - scores.strict_language_accuracy:.1%} counting "
        f"shared-language messages as wrong); most confused: "
        f"{[(e, p, n) for e, p, n, _ in scores.confusions]}"
    )
    assert scores.macro_f1 >= MIN_MACRO_F1
    assert language_error <= MAX_LANGUAGE_ERRORS

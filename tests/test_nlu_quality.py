"""The NLU quality gate: held-out examples per language (never used for training).

Fails when a language's intent macro-F1 falls below 0.90 or its language entity is wrong on
more than 5 % of the examples. A message written the same way in several languages
(``tests/nlu/shared_languages.yml``) counts as right in any of them. The figures are printed so a
trainer sees them in the test log.
"""
from __future__ import annotations

from collections import Counter

import yaml

import pytest
from sklearn.metrics import f1_score

from tests.conftest import LANGUAGES, PROJECT_ROOT
from tests.quality_helpers import trained_model

pytestmark = pytest.mark.slow

MIN_MACRO_F1 = 0.90
MAX_LANGUAGE_ERRORS = 0.05


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    return Agent.load(str(trained_model()))


def held_out(language: str):
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(PROJECT_ROOT / "tests" / "nlu" / f"{language}.yml"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def shared_languages(language: str):
    path = PROJECT_ROOT / "tests" / "nlu" / "shared_languages.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8")).get(language) or {}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_intents_and_language_on_held_out_examples(agent, language):
    examples = held_out(language)
    assert len(examples) >= 10 * 13
    accepted = shared_languages(language)
    assert set(accepted) <= {text for text, _ in examples}, "shared_languages.yml names unknown examples"
    expected, predicted, wrong_language, strictly_wrong, confusions = [], [], 0, 0, Counter()
    for text, intent in examples:
        parsed = await agent.parse_message(text)
        guess = parsed["intent"]["name"]
        expected.append(intent)
        predicted.append(guess)
        if guess != intent:
            confusions[(intent, guess)] += 1
        languages = [e["value"] for e in parsed["entities"] if e["entity"] == "language"]
        strictly_wrong += languages != [language]
        wrong_language += len(languages) != 1 or languages[0] not in accepted.get(text, [language])
    macro_f1 = f1_score(expected, predicted, average="macro", labels=sorted(set(expected)))
    language_error = wrong_language / len(examples)
    print(
        f"\n[{language}] {len(examples)} held-out examples: intent macro-F1 {macro_f1:.3f}, "
        f"language entity wrong on {language_error:.1%} ({strictly_wrong / len(examples):.1%} counting "
        f"shared-language messages as wrong); most confused: {confusions.most_common(5)}"
    )
    assert macro_f1 >= MIN_MACRO_F1
    assert language_error <= MAX_LANGUAGE_ERRORS

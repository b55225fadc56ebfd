"""A greeting or a thank-you that goes on to ask something is answered for what it asks.

Held-out messages (``tests/nlu/greetings_with_content.yml``, never trained on) that open with
"hei", "takk for sist", "hejsan" and then ask a real question. On the trained model, per
language, at least :data:`MIN_SHARE` of them must get the intent of what they ask (a service
question may also get ``nlu_fallback``, which is answered from the website as well), never only
the greeting.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import LANGUAGES

pytestmark = pytest.mark.slow
MIN_SHARE = 0.9
SET = Path(__file__).parent / "nlu" / "greetings_with_content.yml"



def _answered_for_content(expected: str, got: str) -> bool:
    return got == expected or (expected == "service_question" and got == "nlu_fallback")


@pytest.mark.parametrize("language", LANGUAGES)
def test_greetings_that_ask_something_get_the_answer(trained_parser, language):
    items = yaml.safe_load(SET.read_text(encoding="utf-8"))[language]
    assert len(items) >= 40
    results = [(i["intent"], trained_parser.parse(i["text"])["intent"]["name"], i["text"]) for i in items]
    wrong = [r for r in results if not _answered_for_content(r[0], r[1])]
    share = 1 - len(wrong) / len(results)
    print(f"\n[{language}] greeting-led questions answered for their content: {share:.3f}; wrong: {wrong}")
    assert share >= MIN_SHARE

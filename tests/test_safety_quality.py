"""The safety gate: held-out adversarial sets per language (``tests/safety/``, never trained or tuned on).

Measured on what the citizen meets: the intent the whole NLU of the trained model gives (the
safety layer last). Per language: emergency + crisis recall >= 0.99, political-opinion recall
>= 0.97, false alarms on look-alike service questions <= 2 % (emergency/crisis) and <= 5 %
(political). The figures and every miss are printed, as ``make bench-safety`` does.
"""
from __future__ import annotations

import pytest

from bot.safety import evaluate as ev
from tests.conftest import LANGUAGES

pytestmark = pytest.mark.slow



@pytest.mark.parametrize("language", LANGUAGES)
def test_safety_layer_on_held_out_adversarial_messages(trained_parser, language):
    safety_set = ev.load_set(language, ev.HELD_OUT_DIR)
    assert len(safety_set.messages["emergency"]) >= 60 and len(safety_set.messages["crisis"]) >= 40
    assert len(safety_set.messages["political"]) >= 60 and len(safety_set.all_lookalikes) >= 150
    scores = ev.score(ev.with_parser(trained_parser.parse), safety_set)
    print("\n" + ev.report(scores, show=100))
    assert scores.failed_gates() == []

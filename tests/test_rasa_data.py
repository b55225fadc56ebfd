"""Rasa's own checks of the training data and the conversation tests per language."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import LANGUAGES, PROJECT_ROOT
from tests.quality_helpers import trained_model

pytestmark = pytest.mark.slow


# Responses that staff tools and the message inspection send themselves; the dialogue never
# predicts them, so Rasa reports them as unused. Any other warning fails the test.
SENT_OUTSIDE_THE_DIALOGUE = {"utter_staff_took_over", "utter_staff_left", "utter_personal_data_warning",
                             "utter_crisis",  # utter_crisis: sent by action_give_crisis_message
                             "utter_service_trouble",  # said by the Rasa server itself (bot/rasa_server/patches/resilience.py)
                             "utter_rate_limited",  # by the channels (bot/channels/limits.py)
                             "utter_handoff_capped"}  # by action_prepare_handoff (bot/handoff/limit.py)


def test_rasa_data_validate_is_clean(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    rasa_warnings = re.findall(r"UserWarning: (.*)", output)
    unused = {m for w in rasa_warnings for m in re.findall(r"The utterance '(\w+)' is not used", w)}
    assert unused == SENT_OUTSIDE_THE_DIALOGUE
    # Feedback intents come only from buttons, attachment_received and unreadable_message only from the channels.
    without_examples = {m for w in rasa_warnings for m in re.findall(r"The intent '(\w+)' is listed in the domain file, but is not found in the NLU training data", w)}
    assert without_examples <= {"feedback_helpful", "feedback_not_helpful", "attachment_received", "unreadable_message"}
    others = [w for w in rasa_warnings if "is not used in any story or rule" not in w
              and "Slot auto-fill has been removed" not in w and "is not found in the NLU training data" not in w]
    assert others == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_conversations(language, tmp_path):
    stories = PROJECT_ROOT / "tests" / "conversations" / f"test_conversations_{language}.yml"
    assert stories.exists()
    result = subprocess.run(
        [
            sys.executable, "-m", "rasa", "test", "core",
            "--model", str(trained_model()), "--stories", str(stories),
            "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    failed = tmp_path / "results" / "failed_test_stories.yml"
    assert not failed.exists() or "None of the test stories failed" in failed.read_text()

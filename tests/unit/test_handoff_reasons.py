import pytest

from bot.core.reasons import handoff_reason


@pytest.mark.parametrize(
    "intent, desk_open, expected",
    [
        ("political_question", True, "political"),
        ("political_question", False, "political"),
        ("personal_case", True, "personal_case"),
        ("personal_case", False, "personal_case"),
        ("request_human", True, "human_requested"),
        ("request_human", False, "out_of_hours"),
        ("service_question", True, "unanswered"),
        ("service_question", False, "out_of_hours"),
        (None, True, "unanswered"),
    ],
)
def test_reason_depends_on_intent_and_desk(intent, desk_open, expected):
    assert handoff_reason(intent, desk_open) == expected

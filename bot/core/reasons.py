"""Why a turn is handed to staff.

The reason decides which queue a handoff lands in. Political questions and personal cases keep
their own reason at any hour, because they need particular handling (neutrality; case process);
a generic request or an unanswered question outside opening hours is an ``out_of_hours`` handoff.
A message in crisis (suicidal thoughts, violence at home) is a ``crisis`` handoff at any hour, and
crisis handoffs come first in the staff queue.
"""
from __future__ import annotations

from typing import Optional

CRISIS = "crisis"
POLITICAL = "political"
OUT_OF_HOURS = "out_of_hours"
HUMAN_REQUESTED = "human_requested"
PERSONAL_CASE = "personal_case"
UNANSWERED = "unanswered"

REASONS = (CRISIS, POLITICAL, OUT_OF_HOURS, HUMAN_REQUESTED, PERSONAL_CASE, UNANSWERED)
#: Reasons that go to the top of the staff queue, whatever their due time.
URGENT_REASONS = (CRISIS,)

_REASON_BY_INTENT = {
    "crisis_support": CRISIS,
    "political_question": POLITICAL,
    "personal_case": PERSONAL_CASE,
    "request_human": HUMAN_REQUESTED,
}


def handoff_reason(intent: Optional[str], desk_open: bool) -> str:
    """Returns the handoff reason for a turn.

    Args:
        intent: the intent of the citizen's message (``None`` or any other intent means the
            assistant could not answer).
        desk_open: whether the service desk is open now.

    Returns:
        One of :data:`REASONS`.
    """
    reason = _REASON_BY_INTENT.get(intent or "", UNANSWERED)
    if reason in (HUMAN_REQUESTED, UNANSWERED) and not desk_open:
        return OUT_OF_HOURS
    return reason

"""When staff must have answered a handoff: a number of hours counted on working days only.

Public bodies must answer within 24 hours on working days. A handoff created on Friday at 14:00
is due on Monday at 14:00; one created on Saturday is due on Tuesday at 00:00 (the clock starts
on Monday morning at midnight). Weekends and the country's public holidays (from the municipality
profile) are not working days.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from bot.municipality import Municipality


def is_working_day(municipality: Municipality, day: date) -> bool:
    """Returns whether ``day`` is a working day (Monday to Friday, not a public holiday)."""
    return day.weekday() < 5 and not municipality.holidays_on(day)


def due_time(municipality: Municipality, created_at: datetime, hours: int) -> datetime:
    """Returns when a handoff created at ``created_at`` must be answered.

    Hours are counted on the municipality's wall clock, a working day counting 24 of them.

    Args:
        municipality: the profile (time zone and public holidays).
        created_at: a timezone-aware moment.
        hours: working hours allowed (``HANDOFF_DUE_HOURS``, 24 by default).

    Returns:
        The due moment in UTC.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    zone = municipality.zone
    local = created_at.astimezone(zone).replace(tzinfo=None)
    remaining = timedelta(hours=hours)
    while True:
        if is_working_day(municipality, local.date()):
            end_of_day = datetime.combine(local.date() + timedelta(days=1), time())
            if local + remaining <= end_of_day:
                local = local + remaining
                break
            remaining -= end_of_day - local
            local = end_of_day
        else:
            local = datetime.combine(local.date() + timedelta(days=1), time())
    # fold=0 picks the first of two ambiguous wall-clock times at the autumn DST change.
    return local.replace(tzinfo=zone).astimezone(timezone.utc)

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.due import due_time, is_working_day
from bot.municipality import load_municipality

OSLO = ZoneInfo("Europe/Oslo")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


@pytest.mark.parametrize(
    "municipality, created, expected",
    [
        # Tuesday 10:00 -> Wednesday 10:00
        ("saltvika", local(OSLO, 2026, 11, 17, 10, 0), local(OSLO, 2026, 11, 18, 10, 0)),
        # Friday 14:00 -> Monday 14:00
        ("saltvika", local(OSLO, 2026, 11, 20, 14, 0), local(OSLO, 2026, 11, 23, 14, 0)),
        # Saturday -> counting starts Monday 00:00 -> Tuesday 00:00
        ("saltvika", local(OSLO, 2026, 11, 21, 11, 0), local(OSLO, 2026, 11, 24, 0, 0)),
        # Wednesday before Easter 2027 (24 March) 12:00: Maundy Thursday to Easter Monday are holidays
        ("saltvika", local(OSLO, 2027, 3, 24, 12, 0), local(OSLO, 2027, 3, 30, 12, 0)),
        # 16 May 2025 (Friday) 09:00 -> 17 May is Saturday anyway; Monday 19 May 09:00
        ("storlia", local(OSLO, 2025, 5, 16, 9, 0), local(OSLO, 2025, 5, 19, 9, 0)),
        # 16 May 2027 is a Sunday, 17 May a Monday holiday: Friday 14 May 10:00 -> Tuesday 18 May 10:00
        ("storlia", local(OSLO, 2027, 5, 14, 10, 0), local(OSLO, 2027, 5, 18, 10, 0)),
        # Sweden: Midsummer Eve (Friday 19 June 2026) is not a working day; Thursday 18 June 15:00 -> Monday 22 June 15:00
        ("bjorkvalla", local(STOCKHOLM, 2026, 6, 18, 15, 0), local(STOCKHOLM, 2026, 6, 22, 15, 0)),
    ],
)
def test_due_time_counts_working_days_only(municipality, created, expected):
    assert due_time(load_municipality(municipality), created, 24) == expected.astimezone(timezone.utc)


def test_due_time_over_the_autumn_clock_change():
    # Friday 23 October 2026 20:00 CEST -> Monday 26 October 20:00 CET: 24 working hours later on the wall clock
    due = due_time(load_municipality("saltvika"), local(OSLO, 2026, 10, 23, 20, 0), 24)
    assert due == datetime(2026, 10, 26, 19, 0, tzinfo=timezone.utc)


def test_working_days():
    saltvika = load_municipality("saltvika")
    assert is_working_day(saltvika, datetime(2026, 11, 17).date())
    assert not is_working_day(saltvika, datetime(2026, 5, 17).date())  # Sunday and Constitution Day
    assert not is_working_day(saltvika, datetime(2026, 12, 25).date())


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        due_time(load_municipality("saltvika"), datetime(2026, 11, 17, 10, 0), 24)

"""Reading the hours of a profile: ``opening_hours``, ``lunch`` and ``special_days``.

Each parser records what is wrong with a field in the file's problems and returns None, so a
trainer sees every problem of the file at once.
"""
from __future__ import annotations

import re
from datetime import date, time
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence, Tuple

from bot.municipality.calendar import Lunch, Period, SpecialDay
from bot.municipality.reading import WEEKDAYS, _check_keys, _parse_label, _Problems

# Words a trainer may write for a closed day. They are input keywords, never shown to citizens.
_CLOSED_WORDS = frozenset({"closed", "stengt", "stengd", "stängt"})

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_RANGE = re.compile(r"^(\S+?)\s*[-–—]\s*(\S+)$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_FULL_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

Week = Tuple[Tuple[Period, ...], ...]
"""The hours of Monday to Sunday."""


def _parse_time(text: str) -> Optional[time]:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _parse_periods(value: Any, field: str, problems: _Problems) -> Optional[Tuple[Period, ...]]:
    """Parses ``closed``, ``08:00-15:30`` or ``08:00-11:30, 12:00-15:30`` (also a YAML list)."""
    if isinstance(value, str) and value.strip().lower() in _CLOSED_WORDS:
        return ()
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str):
        parts = value.split(",")
    else:
        problems.add(field, f"{value!r} is not a time range like 08:00-15:30 (or closed)")
        return None
    periods: list[Period] = []
    for part in parts:
        text = str(part).strip()
        match = _RANGE.match(text)
        if not match:
            problems.add(field, f"{text!r} is not a time range like 08:00-15:30")
            return None
        start, end = _parse_time(match.group(1)), _parse_time(match.group(2))
        for raw, parsed in ((match.group(1), start), (match.group(2), end)):
            if parsed is None:
                problems.add(field, f"{raw!r} in {text!r} is not a time of day between 00:00 and 23:59")
                return None
        assert start is not None and end is not None
        if start >= end:
            problems.add(field, f"{text!r} closes before it opens – write the opening time first")
            return None
        if periods and start < periods[-1][1]:
            problems.add(field, f"{text!r} overlaps or comes before the previous range – list ranges in order")
            return None
        periods.append((start, end))
    if not periods:
        problems.add(field, "is empty – write a time range like 08:00-15:30 or closed")
        return None
    return tuple(periods)


def _parse_calendar_day(value: Any, field: str, problems: _Problems) -> Optional[Tuple[Optional[int], int, int]]:
    """Parses ``MM-DD`` (year None: every year) or ``YYYY-MM-DD``."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    full, short = _FULL_DATE.match(text), _MONTH_DAY.match(text)
    try:
        if full:
            year, month, day = (int(group) for group in full.groups())
            date(year, month, day)
            return year, month, day
        if short:
            month, day = (int(group) for group in short.groups())
            date(2000, month, day)  # a leap year, so 02-29 is accepted
            return None, month, day
    except ValueError:
        problems.add(field, f"{value!r} is not a real date")
        return None
    problems.add(field, f"{value!r} is not a date like \"12-24\" (every year) or \"2026-12-23\" (one day)")
    return None


def _build_weekly(data: Mapping[str, Any], problems: _Problems) -> Tuple[Week, Optional[Lunch]]:
    """Reads ``opening_hours`` and ``lunch``: the hours of Monday to Sunday with the lunch taken out."""
    weekly: list[Tuple[Period, ...]] = []
    raw_hours = data.get("opening_hours")
    if "opening_hours" in data and not isinstance(raw_hours, dict):
        problems.add("opening_hours", "expected one line per weekday, such as monday: 08:00-15:30")
    elif isinstance(raw_hours, dict):
        _check_keys(raw_hours, "opening_hours.", (), WEEKDAYS, problems)
        for weekday in WEEKDAYS:
            if weekday in raw_hours:
                weekly.append(_parse_periods(raw_hours[weekday], f"opening_hours.{weekday}", problems) or ())
            else:
                problems.add(f"opening_hours.{weekday}", "missing – give the hours, or write closed")
                weekly.append(())
        if len(weekly) == 7 and not any(weekly) and not problems.items:
            problems.add("opening_hours", "the desk is closed every day – give the hours of at least one day")

    lunch = _build_lunch(data.get("lunch"), weekly, problems) if data.get("lunch") is not None else None
    if lunch is not None:
        weekly = [
            _without(periods, lunch.start, lunch.end) if index in lunch.weekdays else periods
            for index, periods in enumerate(weekly)
        ]
    return tuple(weekly), lunch


def _build_special_days(
    data: Mapping[str, Any], languages: Sequence[str], problems: _Problems
) -> Tuple[SpecialDay, ...]:
    """Reads ``special_days``: the days and seasons with other hours, in profile order."""
    special_days: list[SpecialDay] = []
    raw_special = data.get("special_days")
    if raw_special is not None and not isinstance(raw_special, list):
        problems.add("special_days", "expected a list of entries, each starting with '- '")
    elif raw_special:
        for index, entry in enumerate(raw_special):
            rule = _build_special_day(entry, index, languages, problems)
            if rule is not None:
                special_days.append(rule)
    return tuple(special_days)


def _without(periods: Tuple[Period, ...], start: time, end: time) -> Tuple[Period, ...]:
    result: list[Period] = []
    for opens, closes in periods:
        if closes <= start or opens >= end:
            result.append((opens, closes))
            continue
        if opens < start:
            result.append((opens, start))
        if end < closes:
            result.append((end, closes))
    return tuple(result)


def _build_lunch(raw: Any, weekly: Sequence[Tuple[Period, ...]], problems: _Problems) -> Optional[Lunch]:
    if not isinstance(raw, dict):
        problems.add("lunch", "expected start and end, such as lunch: {start: \"11:30\", end: \"12:00\"}")
        return None
    _check_keys(raw, "lunch.", ("start", "end"), ("days",), problems)
    times: dict[str, time] = {}
    for key in ("start", "end"):
        if key in raw:
            parsed = _parse_time(str(raw[key]))
            if parsed is None:
                problems.add(f"lunch.{key}", f"{raw[key]!r} is not a time of day like 11:30")
            else:
                times[key] = parsed
    weekdays: Tuple[int, ...] = tuple(range(7))
    if "days" in raw:
        days = raw["days"]
        if not isinstance(days, list) or not days:
            problems.add("lunch.days", "expected a list of weekdays such as [monday, tuesday]")
        else:
            chosen = []
            for index, name in enumerate(days):
                if name not in WEEKDAYS:
                    problems.add(f"lunch.days[{index}]", f"{name!r} is not a weekday ({', '.join(WEEKDAYS)})")
                else:
                    chosen.append(WEEKDAYS.index(name))
            weekdays = tuple(sorted(set(chosen)))
    if len(times) < 2:
        return None
    start, end = times["start"], times["end"]
    if start >= end:
        problems.add("lunch", f"ends ({end:%H:%M}) before it starts ({start:%H:%M})")
        return None
    if len(weekly) == 7:
        for index in weekdays:
            periods = weekly[index]
            if periods and not any(opens <= start and end <= closes for opens, closes in periods):
                problems.add(
                    "lunch",
                    f"{start:%H:%M}-{end:%H:%M} is not inside the opening hours on {WEEKDAYS[index]} "
                    f"({', '.join(f'{a:%H:%M}-{b:%H:%M}' for a, b in periods)})",
                )
                return None
    return Lunch(start, end, weekdays)


def _build_special_day(entry: Any, index: int, languages: Sequence[str], problems: _Problems) -> Optional[SpecialDay]:
    field = f"special_days[{index}]"
    if not isinstance(entry, dict):
        problems.add(field, "expected an entry with date (or easter, or from/to) and hours")
        return None
    before = len(problems.items)
    _check_keys(entry, f"{field}.", ("hours",), ("date", "easter", "from", "to", "label"), problems)
    rules = [key for key in ("date", "easter", "from") if key in entry]
    if "to" in entry and "from" not in entry:
        problems.add(f"{field}.from", "missing – a season needs both from and to")
    if len(rules) != 1:
        problems.add(field, "give exactly one of date, easter or from/to")
    periods = _parse_periods(entry["hours"], f"{field}.hours", problems) if "hours" in entry else None
    label: Mapping[str, str] = MappingProxyType({})
    if entry.get("label") is not None:
        label = _parse_label(entry["label"], f"{field}.label", languages, problems) or label

    rule: dict[str, Any] = {}
    if rules == ["date"]:
        parsed = _parse_calendar_day(entry["date"], f"{field}.date", problems)
        if parsed is not None:
            year, month, day = parsed
            if year:
                rule = {"kind": "date", "on": date(year, month, day)}
            else:
                rule = {"kind": "yearly", "month": month, "day": day}
    elif rules == ["easter"]:
        offset = entry["easter"]
        if isinstance(offset, bool) or not isinstance(offset, int) or not -200 <= offset <= 200:
            problems.add(f"{field}.easter", f"{offset!r} is not a number of days from Easter Sunday, such as -3 or 39")
        else:
            rule = {"kind": "easter", "easter_offset": offset}
    elif rules == ["from"]:
        if "to" not in entry:
            problems.add(f"{field}.to", "missing – a season needs both from and to")
        else:
            start = _parse_calendar_day(entry["from"], f"{field}.from", problems)
            end = _parse_calendar_day(entry["to"], f"{field}.to", problems)
            if start is not None and end is not None:
                if (start[0] is None) != (end[0] is None):
                    problems.add(field, "from and to must both have a year or both be without one")
                elif start[0] is None:
                    rule = {"kind": "season", "start": start[1:], "end": end[1:]}
                elif date(*start) > date(*end):
                    problems.add(f"{field}.to", f"{entry['to']!r} is before {entry['from']!r}")
                else:
                    rule = {"kind": "season", "start": date(*start), "end": date(*end)}
    if len(problems.items) > before or periods is None or not rule:
        return None
    return SpecialDay(periods=periods, label=label, position=index, **rule)


"""Opening hours and the service desk's state, worded in one language.

The words come from :mod:`bot.municipality.locale`; this module only knows where they go.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Sequence, Tuple

from bot.core import clock
from bot.municipality.calendar import DayInfo, Period, _utc
from bot.municipality.locale import load_locale
from bot.municipality.profile import Municipality


def format_time(lang: str, at: time) -> str:
    """Formats a time of day.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        at: the time.

    Returns:
        ``08:00`` in Norwegian, ``08.00`` in Swedish (as the locale file says).
    """
    return load_locale(lang).time(at)


def format_date(lang: str, day: date) -> str:
    """Formats a date with its weekday.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        day: the date.

    Returns:
        E.g. ``tysdag 2. januar`` (nn), ``tirsdag 2. januar`` (nb), ``tisdag 2 januari`` (sv).
    """
    return load_locale(lang).date(day)


def format_periods(lang: str, periods: Sequence[Period]) -> str:
    """Formats a day's opening periods.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        periods: ``(opens, closes)`` pairs; empty means closed.

    Returns:
        E.g. ``08:00–15:30``, ``08:00–11:30 og 12:00–15:30``, ``08.00–12.00 och 13.00–16.30``
        or ``stengt`` / ``stängt``.
    """
    locale = load_locale(lang)
    if not periods:
        return locale.words["closed"]
    dash = locale.words["dash"]
    return locale.join([f"{locale.time(start)}{dash}{locale.time(end)}" for start, end in periods])


def format_week(lang: str, municipality: Municipality, week_start: date) -> str:
    """Formats the regular hours of the seven days from ``week_start``.

    Consecutive days with the same hours are grouped (``måndag–fredag 08:00–15:30; laurdag–sundag
    stengt``). A season's hours count as regular; holidays and single special days do not
    (see :meth:`Municipality.upcoming_special_days`).

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        municipality: the profile.
        week_start: the first day, normally a Monday.

    Returns:
        The week's hours as one line.
    """
    locale = load_locale(lang)
    groups: list[Tuple[date, date, Tuple[Period, ...]]] = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        regular = municipality.day_info(day).regular
        if groups and groups[-1][2] == regular:
            groups[-1] = (groups[-1][0], day, regular)
        else:
            groups.append((day, day, regular))
    parts = []
    for first, last, periods in groups:
        days = locale.weekdays[first.weekday()]
        if last != first:
            days += locale.words["dash"] + locale.weekdays[last.weekday()]
        parts.append(locale.templates["week_group"].format(days=days, hours=format_periods(lang, periods)))
    return locale.words["week_separator"].join(parts)


def format_moment(lang: str, moment: datetime, now: datetime) -> str:
    """Formats a moment relative to now: ``i dag kl. 12:00``, ``i morgon kl. 08:00`` or a date.

    The calendar days are compared in the moment's own time zone.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        moment: a timezone-aware moment, normally in the municipality's zone.
        now: the current timezone-aware moment.

    Returns:
        E.g. ``tysdag 2. januar kl. 08:00`` (nn), ``tisdag 2 januari kl. 08.00`` (sv).
    """
    locale = load_locale(lang)
    day = moment.date()
    days_ahead = (day - _utc(now).astimezone(moment.tzinfo).date()).days
    relative = {0: "today", 1: "tomorrow", 2: "day_after_tomorrow"}.get(days_ahead)
    day_text = locale.words[relative] if relative else locale.date(day)
    return locale.templates["moment"].format(day=day_text, time=locale.time(moment.timetz()))


def day_label(lang: str, info: DayInfo) -> str:
    """Names the reason for a day's hours: the holiday or the special day's label.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        info: from :meth:`Municipality.day_info`.

    Returns:
        E.g. ``skjærtorsdag`` or ``julaftan``; empty when there is no name.
    """
    locale = load_locale(lang)
    if info.holidays:
        return locale.join([locale.holiday_names.get(name, name) for name in info.holidays])
    if info.special is not None:
        return info.special.label.get(lang, "")
    return ""


def format_special_days(lang: str, days: Sequence[DayInfo], labels: bool = False) -> str:
    """Formats exceptional days: ``onsdag 16. april: 08:00–12:00; torsdag 17. april: stengt``.

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        days: from :meth:`Municipality.upcoming_special_days`.
        labels: add the holiday or special day's name: ``torsdag 17. april (skjærtorsdag): stengt``.

    Returns:
        One line; empty when there are no days.
    """
    locale = load_locale(lang)
    parts = []
    for info in days:
        label = day_label(lang, info) if labels else ""
        values = {"date": locale.date(info.day), "hours": format_periods(lang, info.periods)}
        if label:
            parts.append(locale.templates["special_day_with_label"].format(label=label, **values))
        else:
            parts.append(locale.templates["special_day"].format(**values))
    return locale.words["special_day_separator"].join(parts)


@dataclass(frozen=True)
class DeskStatus:
    """What the assistant says about the service desk, already worded in one language.

    Attributes:
        open_now: whether the desk is open at the moment.
        today_hours: today's hours, e.g. ``08:00–15:30`` or ``stengt``.
        next_opening: the next opening after now, e.g. ``i morgon kl. 08:00`` ("" if none within
            the search window).
        closes_at: when the current opening period ends, e.g. ``i dag kl. 15:30``; None when closed.
        week_hours: this week's regular hours, e.g. ``måndag–fredag 08:00–15:30; laurdag–sundag stengt``.
        special_days: holidays and special days in the next 14 days, "" if none.
    """

    open_now: bool
    today_hours: str
    next_opening: str
    closes_at: Optional[str]
    week_hours: str
    special_days: str


def desk_status(
    municipality: Municipality, lang: str, now: Optional[datetime] = None, special_day_labels: bool = False
) -> DeskStatus:
    """Describes the service desk's state for the chatbot's answer.

    Args:
        municipality: the profile.
        lang: ``nn``, ``nb`` or ``sv``.
        now: a timezone-aware moment; defaults to :func:`bot.core.clock.now`.
        special_day_labels: name the holidays and special days in ``special_days``.

    Returns:
        The status with every text in ``lang``.
    """
    moment = clock.now() if now is None else now
    local_today = _utc(moment).astimezone(municipality.zone).date()
    opening = municipality.next_opening(moment)
    closing = municipality.closes_at(moment)
    return DeskStatus(
        open_now=closing is not None,
        today_hours=format_periods(lang, municipality.periods_on(local_today)),
        next_opening=format_moment(lang, opening, moment) if opening is not None else "",
        closes_at=format_moment(lang, closing, moment) if closing is not None else None,
        week_hours=format_week(lang, municipality, local_today - timedelta(days=local_today.weekday())),
        special_days=format_special_days(
            lang, municipality.upcoming_special_days(moment), labels=special_day_labels
        ),
    )

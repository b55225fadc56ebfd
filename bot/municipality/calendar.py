"""The service desk's calendar: regular hours, lunch, special days, holidays and the next opening.

Opening hours are computed in the municipality's own time zone. Every local moment is built with
:mod:`zoneinfo` from a calendar date and a wall-clock time and compared in UTC, so daylight-saving
changes never shift an opening by an hour.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

#: How far :meth:`Municipality.next_opening` looks ahead; longer than any realistic closure.
NEXT_OPENING_HORIZON_DAYS = 60

Period = Tuple[time, time]
"""An opening period of one day: opens at the first time, closes at the second (exclusive)."""

# holidays 0.86 lists every Sunday as a public holiday for Sweden (include_sundays=True is the
# Swedish default, False the Norwegian one) and country_holidays() cannot switch that off. The
# desk's weekday hours already close it on Sundays; keeping the entry would only make an ordinary
# Sunday look like a holiday in the "upcoming special days" list.
_EVERY_SUNDAY = "Sunday"

# Midsommarafton, julafton and nyårsafton are not public holidays by Swedish law, so holidays 0.86
# puts them in its "optional"/"bank" categories, not in "public". In practice every municipal
# office is closed on them, so they count as holidays here. Keys are the library's en_US names.
_DE_FACTO_HOLIDAYS: Mapping[str, frozenset] = MappingProxyType(
    {"SE": frozenset({"Midsummer Eve", "Christmas Eve", "New Year's Eve"})}
)


@dataclass(frozen=True, eq=False)
class Lunch:
    """A daily lunch closure taken out of the regular weekday hours.

    Attributes:
        start: when the desk closes for lunch.
        end: when it opens again.
        weekdays: weekday numbers (0 = Monday) the lunch applies to.
    """

    start: time
    end: time
    weekdays: Tuple[int, ...]


@dataclass(frozen=True, eq=False)
class SpecialDay:
    """A day or season with other hours than the regular weekday hours.

    Exactly one of the rule fields is used, depending on ``kind``:

    * ``"date"``: one particular day (``on``) – applies even on a day the desk is normally closed.
    * ``"yearly"``: the same ``month``/``day`` every year.
    * ``"easter"``: ``easter_offset`` days from Easter Sunday.
    * ``"season"``: from ``start`` to ``end`` inclusive, each either ``(month, day)`` (every year,
      may wrap over New Year) or a full :class:`date`.

    Attributes:
        kind: one of the kinds above.
        periods: the hours on such a day (empty when closed); no lunch is taken out.
        label: the day's name per language (may be empty).
        on: for ``"date"``.
        month: for ``"yearly"``.
        day: for ``"yearly"``.
        easter_offset: for ``"easter"``.
        start: for ``"season"``.
        end: for ``"season"``.
        position: index in the profile's ``special_days`` list, for error messages and ties.
    """

    kind: str
    periods: Tuple[Period, ...]
    label: Mapping[str, str]
    on: Optional[date] = None
    month: Optional[int] = None
    day: Optional[int] = None
    easter_offset: Optional[int] = None
    start: Any = None
    end: Any = None
    position: int = 0

    @property
    def is_season(self) -> bool:
        """Whether this rule spans several days (a season) rather than one."""
        return self.kind == "season"

    @property
    def rank(self) -> int:
        """Precedence when several rules match a day: lower wins.

        A particular date beats a yearly or Easter day, which beats a season; a season with
        full dates (a one-off closure) beats a yearly season.
        """
        if self.kind == "date":
            return 0
        if self.kind in ("yearly", "easter"):
            return 1
        return 2 if isinstance(self.start, date) else 3

    def matches(self, day: date) -> bool:
        """Tells whether this rule covers ``day``.

        Args:
            day: a calendar date in the municipality's time zone.

        Returns:
            True when the rule applies to that date.
        """
        if self.kind == "date":
            return day == self.on
        if self.kind == "yearly":
            return (day.month, day.day) == (self.month, self.day)
        if self.kind == "easter":
            return day == _easter(day.year) + timedelta(days=self.easter_offset or 0)
        if isinstance(self.start, date):
            return self.start <= day <= self.end
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end  # wraps over New Year


@dataclass(frozen=True, eq=False)
class DayInfo:
    """The opening hours of one date and why they are what they are.

    Attributes:
        day: the date.
        periods: the hours that day (empty when closed).
        regular: the hours in force without holidays and single special days, i.e. the weekday
            hours or a season's hours. ``periods != regular`` marks an exceptional day.
        holidays: the holiday calendar's (English) names when the date is a holiday, else empty.
            Translate them with :func:`day_label`.
        special: the special-day rule that decided the hours, if any (a season or a single day).
    """

    day: date
    periods: Tuple[Period, ...]
    regular: Tuple[Period, ...]
    holidays: Tuple[str, ...] = ()
    special: Optional[SpecialDay] = None

    @property
    def is_open(self) -> bool:
        """Whether the desk opens at all that day."""
        return bool(self.periods)

    @property
    def is_exception(self) -> bool:
        """Whether the hours differ from the regular hours in force that day."""
        return self.periods != self.regular


@functools.lru_cache(maxsize=None)
def _easter(year: int) -> date:
    from dateutil.easter import easter  # imported late: only needed once hours are computed

    return easter(year)


@functools.lru_cache(maxsize=64)
def _holiday_names(country: str, year: int) -> Mapping[date, Tuple[str, ...]]:
    """The days the desk is closed for a holiday in one year, with the calendar's English names."""
    import holidays  # imported late: building the calendars takes a moment

    result: dict[date, Tuple[str, ...]] = {}
    public = holidays.country_holidays(country, years=year, language="en_US")
    for day in public:
        names = tuple(name for name in public.get_list(day) if name != _EVERY_SUNDAY)
        if names:
            result[day] = names
    wanted = _DE_FACTO_HOLIDAYS.get(country)
    if wanted:
        optional = holidays.country_holidays(country, years=year, language="en_US", categories="optional")
        for day in optional:
            names = tuple(name for name in optional.get_list(day) if name in wanted)
            if names:
                result[day] = result.get(day, ()) + names
    return MappingProxyType(result)


class DeskCalendar:
    """The opening-hours part of a :class:`~bot.municipality.profile.Municipality`.

    A mixin, not a dataclass of its own: the profile's dataclass holds the fields it reads, so the
    profile keeps its fields and their order.
    """

    country: str
    timezone: str
    weekly_hours: Tuple[Tuple[Period, ...], ...]
    special_days: Tuple[SpecialDay, ...]

    @property
    def zone(self) -> ZoneInfo:
        """The municipality's time zone."""
        return ZoneInfo(self.timezone)

    # -- one day ---------------------------------------------------------------------------

    def holidays_on(self, day: date) -> Tuple[str, ...]:
        """Returns the holiday calendar's English names for ``day`` (empty on ordinary days).

        Args:
            day: a calendar date.

        Returns:
            Names such as ``("Maundy Thursday",)``; translate them with :func:`day_label`.
        """
        return _holiday_names(self.country, day.year).get(day, ())

    def day_info(self, day: date) -> DayInfo:
        """Works out the opening hours of one date and the reason for them.

        Order of precedence: a public holiday closes the desk; then a special day with a full
        date; then a yearly or Easter-relative special day; then a season; then the weekday
        hours. Yearly days, Easter days and seasons only change days the desk is normally open.

        Args:
            day: a calendar date in the municipality's time zone.

        Returns:
            The day's hours, regular hours and reason.
        """
        weekday_hours = self.weekly_hours[day.weekday()]
        matching = sorted(
            (rule for rule in self.special_days if rule.matches(day)), key=lambda rule: (rule.rank, rule.position)
        )
        season = next((rule for rule in matching if rule.is_season), None)
        regular = season.periods if season is not None and weekday_hours else weekday_hours
        regular_reason = season if season is not None and weekday_hours else None

        names = self.holidays_on(day)
        if names:
            return DayInfo(day, (), regular, holidays=names)
        single = next((rule for rule in matching if not rule.is_season), None)
        if single is not None and (single.kind == "date" or weekday_hours):
            return DayInfo(day, single.periods, regular, special=single)
        return DayInfo(day, regular, regular, special=regular_reason)

    def periods_on(self, day: date) -> list[Period]:
        """Returns the service desk's opening periods on one date.

        Args:
            day: a calendar date in the municipality's time zone.

        Returns:
            ``(opens, closes)`` pairs in order, lunch closures already taken out; empty when closed.
        """
        return list(self.day_info(day).periods)

    # -- moments ---------------------------------------------------------------------------

    def _local(self, day: date, at: time) -> datetime:
        # Round-tripping through UTC moves a wall-clock time that does not exist (inside a
        # spring-forward gap) to the real moment, instead of keeping an impossible time.
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(timezone.utc).astimezone(self.zone)

    def _current_period(self, now: datetime) -> Optional[Tuple[datetime, datetime]]:
        moment = _utc(now)
        today = moment.astimezone(self.zone).date()
        for start, end in self.periods_on(today):
            opens, closes = self._local(today, start), self._local(today, end)
            if opens <= moment < closes:
                return opens, closes
        return None

    def is_open(self, now: datetime) -> bool:
        """Tells whether the service desk is open at a moment.

        Args:
            now: a timezone-aware moment.

        Returns:
            True from an opening time up to, but not including, the closing time.
        """
        return self._current_period(now) is not None

    def closes_at(self, now: datetime) -> Optional[datetime]:
        """Returns when the current opening period ends (a lunch break counts as closing).

        Args:
            now: a timezone-aware moment.

        Returns:
            The closing moment in the municipality's time zone, or None when closed at ``now``.
        """
        period = self._current_period(now)
        return period[1] if period else None

    def next_opening(self, now: datetime, within_days: int = NEXT_OPENING_HORIZON_DAYS) -> Optional[datetime]:
        """Finds the next moment the desk opens, strictly after ``now``.

        While the desk is open this is the start of the next period (after lunch, or the next
        opening day). Weekends, holidays, special days and DST changes are taken into account.

        Args:
            now: a timezone-aware moment.
            within_days: how many days ahead to look.

        Returns:
            The opening moment in the municipality's time zone, or None if the desk stays
            closed for the whole search window.
        """
        moment = _utc(now)
        first = moment.astimezone(self.zone).date()
        for offset in range(within_days + 1):
            day = first + timedelta(days=offset)  # calendar arithmetic: DST cannot shift it
            for start, _ in self.periods_on(day):
                opens = self._local(day, start)
                if opens > moment:
                    return opens
        return None

    def upcoming_special_days(self, now: datetime, days: int = 14) -> list[DayInfo]:
        """Lists holidays and special days with other hours than the regular ones.

        A holiday on a day the desk is closed anyway (a Sunday) is left out, and so are the
        days of a season (their hours are the regular hours in force; :func:`format_week`
        shows them).

        Args:
            now: a timezone-aware moment; the list starts with its local date.
            days: how many days to cover, today included.

        Returns:
            The exceptional days in date order.
        """
        first = _utc(now).astimezone(self.zone).date()
        infos = (self.day_info(first + timedelta(days=offset)) for offset in range(days))
        return [info for info in infos if info.is_exception]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware moment is needed, got {moment.isoformat()}")
    # Comparing aware datetimes that share a tzinfo ignores the UTC offset (and so the DST fold);
    # comparing in UTC is always right.
    return moment.astimezone(timezone.utc)

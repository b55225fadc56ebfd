"""Municipality profiles: contact details, service-desk opening hours and how to say them.

A profile is a YAML file ``<municipalities_dir>/<id>.yml`` written by non-programmers, so loading
it checks every field and reports problems as ``<file>: <field>: <what is wrong>``.

Opening hours are computed in the municipality's own time zone. Every local moment is built with
:mod:`zoneinfo` from a calendar date and a wall-clock time and compared in UTC, so daylight-saving
changes never shift an opening by an hour.

Every citizen-facing word (weekdays, months, "i dag", "stengt", holiday names ...) comes from
``data/locale/<lang>.yml``; this module only knows where the words go.
"""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.core import clock
from bot.core.config import PROJECT_ROOT, get_settings

SUPPORTED_LANGUAGES: Tuple[str, ...] = ("nn", "nb", "sv")
SUPPORTED_COUNTRIES: Tuple[str, ...] = ("NO", "SE")
WEEKDAYS: Tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOCALE_DIR = PROJECT_ROOT / "data" / "locale"

#: How far :meth:`Municipality.next_opening` looks ahead; longer than any realistic closure.
NEXT_OPENING_HORIZON_DAYS = 60

Period = Tuple[time, time]
"""An opening period of one day: opens at the first time, closes at the second (exclusive)."""

# Words a trainer may write for a closed day. They are input keywords, never shown to citizens.
_CLOSED_WORDS = frozenset({"closed", "stengt", "stengd", "stängt"})

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

_PROFILE_FIELDS_REQUIRED = (
    "id",
    "name",
    "country",
    "languages",
    "default_language",
    "timezone",
    "phone",
    "email",
    "address",
    "website",
    "duty_phone",
    "meeting_calendar_url",
    "public_records_url",
    "opening_hours",
)
_PROFILE_FIELDS_OPTIONAL = ("postal_address", "lunch", "special_days", "search_url", "local_numbers")

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]*$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_RANGE = re.compile(r"^(\S+?)\s*[-–—]\s*(\S+)$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_FULL_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


# --------------------------------------------------------------------------------------------
# YAML reading
# --------------------------------------------------------------------------------------------


class _ProfileLoader(yaml.SafeLoader):
    """A YAML loader without the YAML 1.1 surprises that bite non-programmers.

    Plain YAML reads ``NO`` (Norway) as ``false``, ``12:00`` as the number 720 (base 60) and
    ``2026-12-23`` as a date object. Here only true/false are booleans, only plain digits are
    numbers and everything else stays the text that was written.
    """


_ProfileLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp",
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ProfileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ProfileLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))


def _display_path(path: Path) -> str:
    """Returns the path as a trainer would type it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


class MunicipalityError(ValueError):
    """A municipality profile (or a locale file) is missing or has fields that cannot be used.

    Attributes:
        path: the file in question, as shown in the message.
        problems: ``(field, problem)`` pairs; the field is a dotted path such as
            ``opening_hours.monday`` or ``special_days[2].hours`` ("" for the file as a whole).
    """

    def __init__(self, path: Path | str, problems: Sequence[Tuple[str, str]]):
        self.path = _display_path(Path(path))
        self.problems = list(problems)
        lines = [f"{field}: {problem}" if field else problem for field, problem in self.problems]
        if len(lines) == 1:
            message = f"{self.path}: {lines[0]}"
        else:
            message = f"{self.path}: {len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MunicipalityError(path, [("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise MunicipalityError(path, [("", f"cannot be read ({error})")]) from error
    try:
        return yaml.load(text, Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise MunicipalityError(path, [("", f"{where}not valid YAML ({problem})")]) from error


class _Problems:
    """Collects every problem of a file so a trainer can fix them all in one go."""

    def __init__(self, path: Path):
        self.path = path
        self.items: list[Tuple[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append((field, problem))

    def raise_if_any(self) -> None:
        if self.items:
            raise MunicipalityError(self.path, self.items)


def _check_keys(
    data: Mapping[str, Any], prefix: str, required: Iterable[str], optional: Iterable[str], problems: _Problems
) -> None:
    required = tuple(required)
    known = required + tuple(optional)
    for key in required:
        if key not in data:
            problems.add(f"{prefix}{key}", "missing (this field is required)")
    for key in data:
        if key not in known:
            guess = difflib.get_close_matches(str(key), known, n=1)
            hint = f" – did you mean {guess[0]}?" if guess else f" – known fields: {', '.join(known)}"
            problems.add(f"{prefix}{key}", f"unknown field{hint}")


# --------------------------------------------------------------------------------------------
# Field parsers: each returns None after recording a problem
# --------------------------------------------------------------------------------------------


def _text(value: Any, field: str, problems: _Problems) -> Optional[str]:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        problems.add(field, f"expected a text, got {value!r}")
        return None
    text = str(value).strip()
    if not text:
        problems.add(field, "is empty")
        return None
    return text


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


def _parse_label(value: Any, field: str, languages: Sequence[str], problems: _Problems) -> Optional[Mapping[str, str]]:
    if not isinstance(value, dict):
        example = ", ".join(f"{lang}: ..." for lang in languages)
        problems.add(field, f"expected the name in each language, like {{{example}}}")
        return None
    label: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in SUPPORTED_LANGUAGES:
            problems.add(f"{field}.{lang}", f"{lang!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})")
            continue
        parsed = _text(text, f"{field}.{lang}", problems)
        if parsed is not None:
            label[lang] = parsed
    for lang in languages:
        if lang not in value:
            problems.add(f"{field}.{lang}", "missing – give the text in every language the municipality offers")
    return MappingProxyType(label)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, eq=False)
class Municipality:
    """A municipality's profile: names, contact details and service-desk hours.

    Attributes:
        id: the profile's id (its file name without ``.yml``).
        name: the name per offered language.
        country: ``"NO"`` or ``"SE"``.
        languages: offered languages, the default first.
        default_language: the language used until the citizen writes another one.
        timezone: IANA time zone name, e.g. ``Europe/Oslo``.
        phone: switchboard number, national format.
        email: official e-mail address.
        address: visiting address of the service desk.
        postal_address: postal address, or None.
        website: the municipality's web site.
        duty_phone: on-call phone for water, sewage and roads.
        meeting_calendar_url: political meetings and their papers.
        public_records_url: the public records journal.
        search_url: the website's search with ``{query}`` for the search words, or None.
        local_numbers: local phone numbers that replace the country's in safety answers, by the
            keys of ``data/safety/numbers.yml`` (e.g. ``medical`` for the local emergency ward).
        weekly_hours: for Monday to Sunday, the regular hours with the lunch taken out.
        lunch: the lunch closure, or None.
        special_days: special days and seasons in profile order.
        source: the file the profile was read from.
    """

    id: str
    name: Mapping[str, str]
    country: str
    languages: Tuple[str, ...]
    default_language: str
    timezone: str
    phone: str
    email: str
    address: str
    postal_address: Optional[str]
    website: str
    duty_phone: str
    meeting_calendar_url: str
    public_records_url: str
    search_url: Optional[str]
    weekly_hours: Tuple[Tuple[Period, ...], ...]
    lunch: Optional[Lunch]
    special_days: Tuple[SpecialDay, ...]
    source: Path
    local_numbers: Mapping[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        """The municipality's time zone."""
        return ZoneInfo(self.timezone)

    def name_in(self, lang: str) -> str:
        """Returns the municipality's name in a language.

        Args:
            lang: ``nn``, ``nb`` or ``sv``.

        Returns:
            The name in that language, or in the default language when it is not offered.
        """
        return self.name.get(lang) or self.name[self.default_language]

    def site_search(self, query: str) -> str:
        """The address of the website's search for ``query`` (the front page if it has none)."""
        from urllib.parse import quote_plus

        return self.search_url.replace("{query}", quote_plus(query)) if self.search_url else self.website

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


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _build(data: Any, path: Path) -> Municipality:
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("", "expected fields such as id, name and opening_hours (the file is empty or a list)")
        problems.raise_if_any()
    _check_keys(data, "", _PROFILE_FIELDS_REQUIRED, _PROFILE_FIELDS_OPTIONAL, problems)

    def text(field: str) -> Optional[str]:
        return _text(data[field], field, problems) if field in data else None

    profile_id = text("id")
    if profile_id is not None and profile_id != path.stem:
        problems.add("id", f"{profile_id!r} does not match the file name – it should be {path.stem!r}")

    country = data.get("country")
    if "country" in data:
        country = str(country).strip().upper()
        if country not in SUPPORTED_COUNTRIES:
            problems.add(
                "country", f"{data['country']!r} is not a supported country ({', '.join(SUPPORTED_COUNTRIES)})"
            )
            country = None

    languages: Tuple[str, ...] = ()
    if "languages" in data:
        raw_languages = data["languages"]
        if isinstance(raw_languages, str):
            raw_languages = [part.strip() for part in raw_languages.split(",")]
        if not isinstance(raw_languages, list) or not raw_languages:
            problems.add("languages", f"expected a list such as [nn, nb, sv], got {data['languages']!r}")
        else:
            for index, lang in enumerate(raw_languages):
                if lang not in SUPPORTED_LANGUAGES:
                    problems.add(
                        f"languages[{index}]",
                        f"{lang!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})",
                    )
                elif lang in languages:
                    problems.add(f"languages[{index}]", f"{lang!r} is listed twice")
                else:
                    languages += (lang,)

    default_language = text("default_language")
    if default_language is not None and languages and default_language not in languages:
        problems.add(
            "default_language", f"{default_language!r} is not one of the offered languages ({', '.join(languages)})"
        )
        default_language = None
    if default_language in languages:
        languages = (default_language,) + tuple(lang for lang in languages if lang != default_language)

    names: Mapping[str, str] = MappingProxyType({})
    if "name" in data:
        parsed = _parse_label(data["name"], "name", languages, problems)
        names = parsed if parsed is not None else names

    zone_name = text("timezone")
    if zone_name is not None:
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.add("timezone", f"{zone_name!r} is not a time zone name such as Europe/Oslo or Europe/Stockholm")
            zone_name = None

    phone, duty_phone = text("phone"), text("duty_phone")
    for field, number in (("phone", phone), ("duty_phone", duty_phone)):
        if number is not None and (not _PHONE.match(number) or sum(ch.isdigit() for ch in number) < 5):
            problems.add(field, f"{number!r} does not look like a phone number such as \"57 69 40 00\"")

    email = text("email")
    if email is not None and not _EMAIL.match(email):
        problems.add("email", f"{email!r} does not look like an e-mail address such as postmottak@saltvika.kommune.no")

    urls = {field: text(field) for field in ("website", "meeting_calendar_url", "public_records_url")}
    for field, url in urls.items():
        if url is not None and not _URL.match(url):
            problems.add(field, f"{url!r} is not a web address starting with https:// (or http://)")

    address = text("address")
    postal_address = text("postal_address") if data.get("postal_address") is not None else None
    search_url = text("search_url") if data.get("search_url") is not None else None
    if search_url is not None and (not _URL.match(search_url) or "{query}" not in search_url):
        problems.add("search_url", f"{search_url!r} should be the site's search address with {{query}} in it, "
                                   "such as https://www.saltvika.kommune.no/sok?q={query}")

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

    special_days: list[SpecialDay] = []
    raw_special = data.get("special_days")
    if raw_special is not None and not isinstance(raw_special, list):
        problems.add("special_days", "expected a list of entries, each starting with '- '")
    elif raw_special:
        for index, entry in enumerate(raw_special):
            rule = _build_special_day(entry, index, languages, problems)
            if rule is not None:
                special_days.append(rule)

    local_numbers: Dict[str, str] = {}
    raw_numbers = data.get("local_numbers")
    if raw_numbers is not None and not isinstance(raw_numbers, dict):
        problems.add("local_numbers", "expected one line per number, such as medical: \"57 69 41 13\"")
    elif raw_numbers:
        for key, number in raw_numbers.items():
            number = str(number).strip()
            if not _PHONE.match(number) or sum(ch.isdigit() for ch in number) < 3:
                problems.add(f"local_numbers.{key}", f"{number!r} does not look like a phone number")
            else:
                local_numbers[str(key)] = number

    problems.raise_if_any()
    assert profile_id and country and default_language and zone_name  # guaranteed by raise_if_any
    return Municipality(
        id=profile_id,
        name=names,
        country=country,
        languages=languages,
        default_language=default_language,
        timezone=zone_name,
        phone=phone or "",
        email=email or "",
        address=address or "",
        postal_address=postal_address,
        website=urls["website"] or "",
        duty_phone=duty_phone or "",
        meeting_calendar_url=urls["meeting_calendar_url"] or "",
        public_records_url=urls["public_records_url"] or "",
        search_url=search_url,
        weekly_hours=tuple(weekly),
        lunch=lunch,
        special_days=tuple(special_days),
        source=path,
        local_numbers=local_numbers,
    )


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


def list_municipalities(directory: Optional[Path] = None) -> list[str]:
    """Lists the ids of the profiles in a folder.

    Args:
        directory: the folder; defaults to ``get_settings().municipalities_dir``.

    Returns:
        Sorted ids (file names without ``.yml``).
    """
    folder = Path(directory) if directory is not None else get_settings().municipalities_dir
    return sorted(path.stem for path in folder.glob("*.yml"))


def load_municipality(municipality_id: Optional[str] = None, directory: Optional[Path] = None) -> Municipality:
    """Loads and checks a municipality profile; results are cached per (id, folder).

    Args:
        municipality_id: the profile id; defaults to ``get_settings().municipality``.
        directory: the folder of profiles; defaults to ``get_settings().municipalities_dir``.

    Returns:
        The profile.

    Raises:
        MunicipalityError: the file is missing, is not valid YAML or has unusable fields; the
            message names the file and every field in question.
    """
    settings = get_settings() if municipality_id is None or directory is None else None
    profile_id = municipality_id if municipality_id is not None else settings.municipality  # type: ignore[union-attr]
    folder = Path(directory) if directory is not None else settings.municipalities_dir  # type: ignore[union-attr]
    return _load_cached(profile_id, folder.resolve())


@functools.lru_cache(maxsize=32)
def _load_cached(municipality_id: str, directory: Path) -> Municipality:
    path = directory / f"{municipality_id}.yml"
    if not _ID.match(municipality_id):
        problem = f"{municipality_id!r} is not a profile id (lower-case letters, digits, - and _)"
        raise MunicipalityError(path, [("", problem)])
    if not path.is_file():
        known = list_municipalities(directory) if directory.is_dir() else []
        hint = f"; known profiles: {', '.join(known)}" if known else ""
        raise MunicipalityError(path, [("", f"no profile for municipality {municipality_id!r}{hint}")])
    return _build(_read_yaml(path), path)


def clear_cache() -> None:
    """Forgets loaded profiles and locales, e.g. after a trainer edited a file."""
    _load_cached.cache_clear()
    _load_locale_cached.cache_clear()


# --------------------------------------------------------------------------------------------
# Locale
# --------------------------------------------------------------------------------------------

_LOCALE_TEMPLATES: Mapping[str, Tuple[str, ...]] = MappingProxyType(
    {
        "time": ("hour", "minute"),
        "date": ("weekday", "day", "month"),
        "moment": ("day", "time"),
        "week_group": ("days", "hours"),
        "special_day": ("date", "hours"),
        "special_day_with_label": ("date", "label", "hours"),
        "special_days_ahead": ("days",),
        "no_special_days": (),
    }
)
_LOCALE_WORDS = (
    "today",
    "tomorrow",
    "day_after_tomorrow",
    "closed",
    "and",
    "list_separator",
    "dash",
    "week_separator",
    "special_day_separator",
)


@dataclass(frozen=True, eq=False)
class Locale:
    """The words and patterns of one language, read from ``data/locale/<lang>.yml``.

    Attributes:
        lang: the language code.
        weekdays: Monday to Sunday.
        months: January to December.
        words: single words and separators (today, closed, and, dash ...).
        templates: patterns with ``{placeholders}`` (time, date, moment ...).
        holiday_names: the holiday calendar's English names mapped to this language.
    """

    lang: str
    weekdays: Tuple[str, ...]
    months: Tuple[str, ...]
    words: Mapping[str, str]
    templates: Mapping[str, str]
    holiday_names: Mapping[str, str]

    def time(self, at: time) -> str:
        """Formats a time of day, e.g. ``08:00`` or ``08.00``."""
        return self.templates["time"].format(hour=f"{at.hour:02d}", minute=f"{at.minute:02d}")

    def date(self, day: date) -> str:
        """Formats a date with its weekday, e.g. ``tysdag 2. januar``."""
        return self.templates["date"].format(
            weekday=self.weekdays[day.weekday()], day=day.day, month=self.months[day.month - 1]
        )

    def join(self, items: Sequence[str]) -> str:
        """Joins items as in a sentence: ``a``, ``a og b``, ``a, b og c``."""
        if len(items) <= 1:
            return "".join(items)
        return f"{self.words['list_separator'].join(items[:-1])} {self.words['and']} {items[-1]}"


def _build_locale(data: Any, lang: str, path: Path) -> Locale:
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("", "expected the words of the language, such as weekdays, months and closed")
        problems.raise_if_any()
    required = ("weekdays", "months", *_LOCALE_WORDS, *_LOCALE_TEMPLATES)
    _check_keys(data, "", required, ("holidays",), problems)
    lists: dict[str, Tuple[str, ...]] = {}
    for key, count in (("weekdays", 7), ("months", 12)):
        value = data.get(key)
        well_formed = isinstance(value, list) and len(value) == count and all(isinstance(v, str) and v for v in value)
        if key in data and not well_formed:
            problems.add(key, f"expected a list of {count} words")
        elif key in data:
            lists[key] = tuple(value)
    words: dict[str, str] = {}
    for key in _LOCALE_WORDS:
        if key in data:
            if not isinstance(data[key], str) or (not data[key] and key not in ("list_separator",)):
                problems.add(key, f"expected a word in quotation marks, got {data[key]!r}")
            else:
                words[key] = data[key]
    templates: dict[str, str] = {}
    for key, placeholders in _LOCALE_TEMPLATES.items():
        if key not in data:
            continue
        value = data[key]
        try:
            if not isinstance(value, str):
                raise ValueError
            value.format(**{name: "x" for name in placeholders})
        except (KeyError, IndexError, ValueError):
            allowed = ", ".join("{" + name + "}" for name in placeholders)
            problems.add(key, f"{value!r} may only use the placeholders {allowed}")
            continue
        templates[key] = value
    holiday_names: dict[str, str] = {}
    raw_holidays = data.get("holidays") or {}
    if not isinstance(raw_holidays, dict):
        problems.add("holidays", "expected lines such as \"Good Friday\": langfredag")
    else:
        for key, value in raw_holidays.items():
            if not isinstance(value, str) or not value.strip():
                problems.add(f"holidays.{key}", "expected the holiday's name")
            else:
                holiday_names[str(key)] = value.strip()
    problems.raise_if_any()
    return Locale(
        lang=lang,
        weekdays=lists["weekdays"],
        months=lists["months"],
        words=MappingProxyType(words),
        templates=MappingProxyType(templates),
        holiday_names=MappingProxyType(holiday_names),
    )


def load_locale(lang: str, directory: Optional[Path] = None) -> Locale:
    """Loads the words of one language (cached).

    Args:
        lang: ``nn``, ``nb`` or ``sv``.
        directory: folder of locale files; defaults to ``data/locale`` in the project.

    Returns:
        The locale.

    Raises:
        MunicipalityError: the language is unsupported or its file is missing or malformed.
    """
    folder = Path(directory) if directory is not None else LOCALE_DIR
    if lang not in SUPPORTED_LANGUAGES:
        problem = f"{lang!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})"
        raise MunicipalityError(folder / f"{lang}.yml", [("", problem)])
    return _load_locale_cached(lang, folder.resolve())


@functools.lru_cache(maxsize=16)
def _load_locale_cached(lang: str, directory: Path) -> Locale:
    path = directory / f"{lang}.yml"
    return _build_locale(_read_yaml(path), lang, path)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


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


__all__ = [
    "DayInfo",
    "DeskStatus",
    "Locale",
    "Lunch",
    "Municipality",
    "MunicipalityError",
    "Period",
    "SpecialDay",
    "SUPPORTED_COUNTRIES",
    "SUPPORTED_LANGUAGES",
    "WEEKDAYS",
    "clear_cache",
    "day_label",
    "desk_status",
    "format_date",
    "format_moment",
    "format_periods",
    "format_special_days",
    "format_time",
    "format_week",
    "list_municipalities",
    "load_locale",
    "load_municipality",
]

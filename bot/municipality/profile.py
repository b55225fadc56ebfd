"""Municipality profiles: names, contact details and the service desk's hours, read from YAML.

A profile is a YAML file ``<municipalities_dir>/<id>.yml`` written by non-programmers, so loading
it checks every field and reports problems as ``<file>: <field>: <what is wrong>``.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.config import get_settings
from bot.municipality.calendar import DeskCalendar, Lunch, Period, SpecialDay
from bot.municipality.hours import _build_special_days, _build_weekly
from bot.municipality.reading import (
    SUPPORTED_COUNTRIES,
    SUPPORTED_LANGUAGES,
    MunicipalityError,
    _check_keys,
    _parse_label,
    _Problems,
    _read_yaml,
    _text,
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


@dataclass(frozen=True, eq=False)
class Municipality(DeskCalendar):
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



# --------------------------------------------------------------------------------------------
# Loading: one step per section of the profile, in the order the problems are reported
# --------------------------------------------------------------------------------------------


def _build(data: Any, path: Path) -> Municipality:
    """Checks a profile's fields and builds it; every problem of the file is reported at once."""
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("", "expected fields such as id, name and opening_hours (the file is empty or a list)")
        problems.raise_if_any()
    _check_keys(data, "", _PROFILE_FIELDS_REQUIRED, _PROFILE_FIELDS_OPTIONAL, problems)
    profile: Dict[str, Any] = _identity(data, path, problems)
    profile["timezone"] = _time_zone(data, problems)
    profile.update(_contacts(data, problems))
    profile["weekly_hours"], profile["lunch"] = _build_weekly(data, problems)
    profile["special_days"] = _build_special_days(data, profile["languages"], problems)
    profile["local_numbers"] = _local_numbers(data, problems)
    problems.raise_if_any()
    # guaranteed by raise_if_any
    assert profile["id"] and profile["country"] and profile["default_language"] and profile["timezone"]
    return Municipality(source=path, **profile)


def _field_text(data: Mapping[str, Any], field: str, problems: _Problems) -> Optional[str]:
    """The text of a top-level field, or None when it is absent or unusable (then a problem is recorded)."""
    return _text(data[field], field, problems) if field in data else None


def _identity(data: Mapping[str, Any], path: Path, problems: _Problems) -> Dict[str, Any]:
    """Reads ``id``, ``country``, ``languages``, ``default_language`` and ``name``."""
    profile_id = _field_text(data, "id", problems)
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

    languages = _languages(data, problems)
    default_language = _field_text(data, "default_language", problems)
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
    return {
        "id": profile_id,
        "name": names,
        "country": country,
        "languages": languages,
        "default_language": default_language,
    }


def _languages(data: Mapping[str, Any], problems: _Problems) -> Tuple[str, ...]:
    """Reads ``languages`` as written (the default language is put first afterwards)."""
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
    return languages


def _time_zone(data: Mapping[str, Any], problems: _Problems) -> Optional[str]:
    """Reads ``timezone``: an IANA name that :mod:`zoneinfo` knows."""
    zone_name = _field_text(data, "timezone", problems)
    if zone_name is not None:
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.add("timezone", f"{zone_name!r} is not a time zone name such as Europe/Oslo or Europe/Stockholm")
            zone_name = None
    return zone_name


def _contacts(data: Mapping[str, Any], problems: _Problems) -> Dict[str, Any]:
    """Reads the phone numbers, e-mail, web addresses and postal addresses."""

    def text(field: str) -> Optional[str]:
        return _field_text(data, field, problems)

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
    return {
        "phone": phone or "",
        "email": email or "",
        "address": address or "",
        "postal_address": postal_address,
        "website": urls["website"] or "",
        "duty_phone": duty_phone or "",
        "meeting_calendar_url": urls["meeting_calendar_url"] or "",
        "public_records_url": urls["public_records_url"] or "",
        "search_url": search_url,
    }


def _local_numbers(data: Mapping[str, Any], problems: _Problems) -> Dict[str, str]:
    """Reads ``local_numbers``: the local phone numbers that replace the country's in safety answers."""
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
    return local_numbers


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


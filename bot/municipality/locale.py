"""The words of each language for opening hours, read from ``data/locale/<lang>.yml``.

Every citizen-facing word (weekdays, months, "i dag", "stengt", holiday names ...) comes from
those files; the code only knows where the words go.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence, Tuple

from bot.core.config import PROJECT_ROOT
from bot.municipality.reading import SUPPORTED_LANGUAGES, MunicipalityError, _check_keys, _Problems, _read_yaml

LOCALE_DIR = PROJECT_ROOT / "data" / "locale"

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


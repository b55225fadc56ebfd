"""Municipality profiles: contact details, service-desk opening hours and how to say them.

The package's rooms, lowest first (each imports only the ones above it):

* :mod:`~bot.municipality.reading`: YAML without surprises, :class:`MunicipalityError` and the
  problems of a file collected for one message;
* :mod:`~bot.municipality.calendar`: lunch, special days, holidays, a day's hours, whether the
  desk is open and when it opens next (in the municipality's time zone, compared in UTC);
* :mod:`~bot.municipality.hours`: reading a profile's ``opening_hours``, ``lunch`` and
  ``special_days``;
* :mod:`~bot.municipality.profile`: the profile (:class:`Municipality`) and its loading;
* :mod:`~bot.municipality.locale`: the words of each language from ``data/locale/<lang>.yml``;
* :mod:`~bot.municipality.formatting`: times, dates, weeks, special days and the desk's state
  worded in one language.

The public names are re-exported here, so ``from bot.municipality import X`` is the way to use them.
"""
from __future__ import annotations

from bot.municipality.calendar import NEXT_OPENING_HORIZON_DAYS, DayInfo, Lunch, Period, SpecialDay
from bot.municipality.formatting import (
    DeskStatus,
    day_label,
    desk_status,
    format_date,
    format_moment,
    format_periods,
    format_special_days,
    format_time,
    format_week,
)
from bot.municipality.locale import LOCALE_DIR, Locale, _load_locale_cached, load_locale
from bot.municipality.profile import Municipality, _load_cached, list_municipalities, load_municipality
from bot.municipality.reading import SUPPORTED_COUNTRIES, SUPPORTED_LANGUAGES, WEEKDAYS, MunicipalityError


def clear_cache() -> None:
    """Forgets loaded profiles and locales, e.g. after a trainer edited a file."""
    _load_cached.cache_clear()
    _load_locale_cached.cache_clear()


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

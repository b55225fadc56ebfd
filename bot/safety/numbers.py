"""Emergency numbers and helplines, read from ``data/safety/numbers.yml`` (with their sources).

The safety answers in ``domain.yml`` name the services and take the numbers from slots
``number_<key>`` (``{number_fire}``, ``{number_mental_health}``, ...), so that no number lives in
code or is written twice. A municipality profile may replace any number with a local one
(``local_numbers:``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Dict, Mapping, Optional

import yaml

from bot.core.config import PROJECT_ROOT

NUMBERS_FILE = PROJECT_ROOT / "data" / "safety" / "numbers.yml"
SLOT_PREFIX = "number_"
#: Every key a country may give; domain.yml declares one slot per key.
KEYS = ("fire", "police", "ambulance", "emergency", "medical", "poison", "mental_health", "church_sos",
        "suicide_line", "children", "women_violence")


@dataclass(frozen=True)
class Helpline:
    """One number with the official page it was checked against."""

    key: str
    number: str
    name: str
    source: str
    checked: date


class NumbersError(ValueError):
    """The numbers file is missing a field or names an unknown key."""


@functools.lru_cache(maxsize=4)
def load_numbers(path: Optional[Path] = None) -> Mapping[str, Mapping[str, Helpline]]:
    """Returns the numbers per country (``"NO"``, ``"SE"``) and key.

    Raises:
        NumbersError: a number without its source or check date, or an unknown key.
    """
    path = path or NUMBERS_FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    countries: Dict[str, Dict[str, Helpline]] = {}
    for country, entries in raw.items():
        countries[country] = {}
        for key, entry in (entries or {}).items():
            if key not in KEYS:
                raise NumbersError(f"{path}: {country}.{key}: unknown key; use one of {', '.join(KEYS)}")
            missing = [f for f in ("number", "name", "source", "checked") if not (entry or {}).get(f)]
            if missing:
                raise NumbersError(f"{path}: {country}.{key}: missing {', '.join(missing)}")
            checked = entry["checked"]
            if not isinstance(checked, date):
                raise NumbersError(f"{path}: {country}.{key}.checked: {checked!r} is not a date such as 2026-12-03")
            countries[country][key] = Helpline(key, str(entry["number"]), str(entry["name"]),
                                               str(entry["source"]), checked)
    return countries


def number_slots(country: str, local_numbers: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    """Returns the ``number_<key>`` slots for a country, local numbers replacing national ones.

    Keys the country does not have are None, so that a slot from another country never lingers.
    """
    national = load_numbers().get(country, {})
    local = dict(local_numbers or {})
    return {
        SLOT_PREFIX + key: local.get(key) or (national[key].number if key in national else None)
        for key in KEYS
    }

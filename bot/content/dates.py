"""Calendar dates written in website text, so that an answer never offers a past date as next.

Pages list meetings, collection days and deadlines as "torsdag 18. mars 2027", "18 mars 2027",
"18.03.2027" or "2027-03-18". A line whose dates have all passed (in the municipality's time
zone) is not what a citizen asking "when is the next meeting" should see. Dates without a year
("1. mars") recur every year and are never treated as past.
"""
from __future__ import annotations

import re
from datetime import date
from typing import List

# Month names and common abbreviations in Nynorsk, Bokmål and Swedish.
MONTHS = {
    "januar": 1, "januari": 1, "jan": 1, "februar": 2, "februari": 2, "feb": 2, "mars": 3, "mar": 3,
    "april": 4, "apr": 4, "mai": 5, "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "august": 8, "augusti": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "desember": 12, "december": 12, "des": 12, "dec": 12,
}
_NAMED = re.compile(r"\b(\d{1,2})\.?\s+(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{4})\b",
                    re.IGNORECASE)
_NUMERIC = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _safe(year: int, month: int, day: int) -> List[date]:
    try:
        return [date(year, month, day)]
    except ValueError:
        return []


def dates_in(text: str) -> List[date]:
    """The full dates (with a year) written in ``text``, in the order found."""
    found: List[date] = []
    for day, month, year in _NAMED.findall(text or ""):
        found += _safe(int(year), MONTHS[month.lower()], int(day))
    for day, month, year in _NUMERIC.findall(text or ""):
        found += _safe(int(year), int(month), int(day))
    for year, month, day in _ISO.findall(text or ""):
        found += _safe(int(year), int(month), int(day))
    return found


def only_past(text: str, today: date) -> bool:
    """Whether ``text`` names dates and all of them are before ``today``."""
    found = dates_in(text)
    return bool(found) and max(found) < today

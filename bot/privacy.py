"""Detection and masking of personal data in citizens' chat messages.

Every message is archived complete as a public record, but staff lists, statistics and
public exports must show personal data masked, and the bot warns the citizen (once) not to
share it. This module finds three kinds of personal data in free chat text:

* ``"national_id"``: Norwegian fødselsnummer, D-number (and H-number, which stdnum accepts)
  and Swedish personnummer or samordningsnummer, always confirmed by check digits and a
  plausible birth date, so that invoice numbers and other digit strings are not flagged;
* ``"phone"``: Norwegian and Swedish phone numbers in the usual written forms;
* ``"email"``: e-mail addresses.

What python-stdnum 2.2 does natively, and what this module adds:

* ``stdnum.no.fodselsnummer`` accepts D-numbers (day + 40) and H-numbers (month + 40) and
  rejects FH-numbers (first digit 8 or 9) and birth dates in the future. It only knows the
  classic check digits, so the rule that applies from 2032 is implemented here
  (:func:`_valid_no_2032`).
* ``stdnum.se.personnummer`` accepts 10 and 12 digits with "-", "+" or no separator, but
  rejects samordningsnummer (day + 60) because their day is not a date, so those are checked
  here with stdnum's date logic and Luhn (:func:`_valid_se`).

Masks contain no words, since user-facing texts live in the language files: every digit of
an id or phone number becomes "•" (separators kept, so the message keeps its shape), and an
e-mail address becomes its first character, "•••@•••." and its top-level domain.
"""
from __future__ import annotations

import bisect
import datetime
import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer
from stdnum.se import personnummer

__all__ = ["Finding", "find_personal_data", "find_for_staff", "has_personal_data", "kinds", "mask", "mask_for_staff",
           "MASK_CHAR"]

MASK_CHAR = "•"

# Priority when matches overlap: an e-mail may contain digits, and an id must never be
# reported as a phone number.
_PRIORITY = {"email": 0, "national_id": 1, "phone": 2}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in a text.

    Attributes:
        kind: ``"national_id"``, ``"phone"`` or ``"email"``.
        start: Index of the first character in the text.
        end: Index just after the last character (``text[start:end] == self.text``).
        text: The matched text exactly as written, separators included.
    """

    kind: str
    start: int
    end: int
    text: str


# --- Regular expressions ---------------------------------------------------------------
# ASCII digits only: stdnum and int() must never see other Unicode digits, and chat
# numbers in other scripts are not Nordic ids anyway.
_D = "[0-9]"
# Hyphen-minus plus the Unicode hyphens and en dash that phone keyboards substitute.
_DASH = "\\-\u2010\u2011\u2012\u2013"
_SPACE = " \u00a0"

# A number must not be glued to a longer token: not preceded by a letter, digit, "/" (case
# numbers like 2024/1234, URL paths) or a digit plus punctuation (decimals, dates, ranges).
_LEFT = rf"(?<![\w/+])(?<!{_D}[.,:{_DASH}])"
_RIGHT = rf"(?![\w/])(?![.,:{_DASH}]{_D})"
# Amounts are the commonest digit groups in municipal chat ("25000000 kr", "500 00 000,-").
_NOT_AMOUNT = r"(?![ \u00a0]?(?i:kr\b|nok\b|sek\b|eur\b|,-|:-|%))"

_ID_RE = re.compile(
    _LEFT
    + rf"(?:(?:1[89]|20){_D}{{6}}|{_D}{{6}})"  # SE 12 digits start with the century
    + rf"(?P<sep>[+{_DASH}{_SPACE}])?"
    + rf"{_D}{{4,5}}"
    + _RIGHT
)

# The same numbers as people space them: "010190 123 45", "01.01.90-12345", "01 01 90 12345".
# Between the digits at most one separator each; the digit count and check digits decide.
_SPACED_ID_RE = re.compile(
    _LEFT
    + rf"{_D}{_D}[.{_DASH}{_SPACE}]?{_D}{_D}[.{_DASH}{_SPACE}]?{_D}{_D}(?:[.{_DASH}{_SPACE}+]?{_D}){{4,5}}"
    + _RIGHT
)

# Norwegian numbers without country code: 8 digits, first two restricted to the ranges the
# numbering plan uses for subscribers (2x Oslo area, 3x-7x landlines, 4x/9x mobiles, 80-82
# service numbers). 0x/1x are short codes, and excluding "20" and "19" keeps years out.
_NO_FIRST = rf"(?:2[1-9]|[3-79]{_D}|8[0-2])"
_NO_LOCAL_RE = re.compile(
    _LEFT
    + "(?:"
    + rf"{_NO_FIRST}{_D}{{6}}"  # 57694000
    # Grouped forms must not continue a run of digit groups ("12 34 56 78 90").
    + rf"|(?<!{_D}[{_SPACE}]){_NO_FIRST}(?P<s2>[{_SPACE}.{_DASH}]){_D}{{2}}(?P=s2){_D}{{2}}(?P=s2){_D}{{2}}"  # 57 69 40 00
    + rf"|(?<!{_D}[{_SPACE}]){_NO_FIRST}{_D}(?P<s3>[{_SPACE}{_DASH}]){_D}{{2}}(?P=s3){_D}{{3}}"  # 576 94 000
    + ")"
    + _RIGHT
    + _NOT_AMOUNT
)

# With a country code the grouping is free, since "+47"/"+46" leaves no doubt.
_INTL_RE = re.compile(
    _LEFT
    + "(?:\\+|00)(?:"
    + rf"47[{_SPACE}{_DASH}]?[2-9](?:[{_SPACE}.{_DASH}]?{_D}){{7}}"
    + rf"|46[{_SPACE}{_DASH}]?(?:\(0\)[{_SPACE}]?)?[1-9](?:[{_SPACE}{_DASH}]?{_D}){{6,8}}"
    + ")"
    + _RIGHT
    + _NOT_AMOUNT
)

# Swedish national format: 0 + area code (1-3 more digits), a dash or space, then the
# subscriber number contiguous or in groups of 2-3 ("0980-319 200", "070-123 45 67",
# "08 123 456 78"). Written without any separator only mobile numbers (07x) are taken:
# other 0-prefixed digit strings are too often customer or invoice numbers.
_SE_NATIONAL_RE = re.compile(
    _LEFT
    + "(?:"
    + rf"0[1-9]{_D}{{0,2}}(?:[{_SPACE}]?[{_DASH}][{_SPACE}]?|[{_SPACE}])"
    + rf"(?:{_D}{{5,8}}|{_D}{{2,3}}(?:[{_SPACE}]{_D}{{2,3}}){{1,3}})"
    + rf"|07[02369]{_D}{{7}}"
    + ")"
    + _RIGHT
    + _NOT_AMOUNT
)

# Local part and domain labels may contain Unicode letters (IDN such as bømlo.kommune.no).
# The lookbehind makes a failed attempt cost one scan per token, not per character, so a
# 100 kB run of letters stays linear.
_EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]+@(?:[\w\-]+\.)+[^\W\d_]{2,}(?![\w\-])"
)

_NON_DIGIT_RE = re.compile(r"[^0-9]")
_DIGIT_RE = re.compile(r"[0-9]")
# Cheap pre-check: every finding has an "@" or at least four digits close together, and
# most chat messages have neither, so they skip all other patterns.
_MAYBE_RE = re.compile(rf"@|{_D}[^@]{{0,3}}{_D}[^@]{{0,3}}{_D}[^@]{{0,3}}{_D}")


# --- Check-digit validation -------------------------------------------------------------
_NO_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)


def _no_birth_date_plausible(digits: str) -> bool:
    """Tell whether the first six digits of a Norwegian number can be a birth date.

    Numbers issued under the 2032 rules no longer encode the century in the individual
    number, so the date is accepted when it exists in any of the three possible centuries.
    D-numbers (day + 40) and H-numbers (month + 40) are undone first, like stdnum does; FH
    numbers (day 80 and up) carry no date and are not accepted, like in stdnum.

    Args:
        digits: Eleven ASCII digits.

    Returns:
        True if day and month form a real date in 18yy, 19yy or 20yy.
    """
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if day >= 80:
        return False
    if day > 40:
        day -= 40
    if month > 40:
        month -= 40
    for century in (1800, 1900, 2000):
        try:
            datetime.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def _valid_no_2032(digits: str) -> bool:
    """Check a Norwegian number against the check-digit rule that applies from 2032.

    Individual numbers are running out, so from 1 January 2032 the Tax Administration
    (Skatteetaten) issues numbers whose first check digit k1 is valid when the weighted sum
    of the first ten digits (weights 3 7 6 1 8 9 4 5 2 1) modulo 11 is 0, 1, 2 or 3; the
    classic rule accepts only 0. The second check digit k2 keeps the classic mod-11 rule over
    the first ten digits. stdnum 2.2 only implements the classic rule, hence this function.
    Existing numbers stay valid, so this is used in addition to stdnum.

    Args:
        digits: Eleven ASCII digits.

    Returns:
        True if both check digits are valid under the 2032 rules and the date is plausible.
    """
    if sum(w * int(d) for w, d in zip(_NO_K1_WEIGHTS, digits)) % 11 not in (0, 1, 2, 3):
        return False
    if fodselsnummer.calc_check_digit2(digits[:10]) != digits[10]:
        return False
    return _no_birth_date_plausible(digits)


def _valid_no(digits: str) -> bool:
    """Tell whether eleven digits are a Norwegian fødselsnummer or D-number.

    Args:
        digits: Eleven ASCII digits.

    Returns:
        True if stdnum accepts the number or it is valid under the 2032 check-digit rule.
    """
    return fodselsnummer.is_valid(digits) or _valid_no_2032(digits)


def _valid_se(digits: str, sep: str | None) -> bool:
    """Tell whether 10 or 12 digits are a Swedish personnummer or samordningsnummer.

    stdnum rejects samordningsnummer because their day (real day + 60) is not a date, so for
    days 61-91 the date is checked with 60 subtracted and Luhn over the digits as written.

    Args:
        digits: Ten or twelve ASCII digits.
        sep: The separator before the last four digits as written ("+" marks an age of
            100 or more), or None.

    Returns:
        True if the number is valid.
    """
    tail = digits[-10:]
    century = digits[:-10]
    sep = "+" if sep == "+" else "-"
    day = int(tail[4:6])
    if 61 <= day <= 91:
        dated = f"{century}{tail[:4]}{day - 60:02d}{sep}{tail[6:]}"
        try:
            personnummer.get_birth_date(dated)
        except (ValidationError, ValueError):
            return False
        return luhn.is_valid(tail)
    return personnummer.is_valid(f"{century}{tail[:6]}{sep}{tail[6:]}")


def _spaced_sep(written: str) -> str | None:
    """The separator before the last four digits of a spaced id ("+" marks a Swedish centenarian)."""
    before = written[: -4].rstrip("0123456789")
    return "+" if written.rstrip("0123456789").endswith("+") or before.endswith("+") else None


def _valid_id(match: re.Match[str]) -> bool:
    """Route an id-shaped match to the Norwegian or Swedish check by its digit count."""
    digits = _NON_DIGIT_RE.sub("", match.group(0))
    sep = match.groupdict().get("sep") or (_spaced_sep(match.group(0)) if "sep" not in match.groupdict() else None)
    if len(digits) == 11:
        # "+" is the Swedish centenarian separator and never used in Norwegian numbers.
        return sep != "+" and _valid_no(digits)
    if len(digits) in (10, 12):
        return _valid_se(digits, sep)
    return False


def _looks_like_date(digits: str) -> bool:
    """Tell whether eight digits written together are a DDMMYYYY date of 1900-2099."""
    year = int(digits[4:8])
    if not 1900 <= year <= 2099:
        return False
    try:
        datetime.date(year, int(digits[2:4]), int(digits[0:2]))
    except ValueError:
        return False
    return True


# --- Public API --------------------------------------------------------------------------
def find_personal_data(text: str) -> list[Finding]:
    """Find national ids, phone numbers and e-mail addresses in a chat message.

    Overlaps are resolved by priority (e-mail, then national id, then phone), so a
    personnummer is never also reported as a phone number.

    Args:
        text: The message as the citizen wrote it.

    Returns:
        Non-overlapping findings in text order; empty if there are none.

    Example:
        >>> find_personal_data("Ring 57 69 40 00")
        [Finding(kind='phone', start=5, end=16, text='57 69 40 00')]
    """
    if not text or not _MAYBE_RE.search(text):
        return []

    candidates: list[Finding] = []
    if "@" in text:
        candidates.extend(
            Finding("email", m.start(), m.end(), m.group(0)) for m in _EMAIL_RE.finditer(text)
        )
    candidates.extend(
        Finding("national_id", m.start(), m.end(), m.group(0))
        for pattern in (_ID_RE, _SPACED_ID_RE)
        for m in pattern.finditer(text)
        if _valid_id(m)
    )
    candidates.extend(Finding("phone", m.start(), m.end(), m.group(0)) for m in _INTL_RE.finditer(text))
    for m in _SE_NATIONAL_RE.finditer(text):
        # The pattern is loose about grouping; Swedish numbers have 8-10 digits with the 0.
        if 8 <= len(_DIGIT_RE.findall(m.group(0))) <= 10:
            candidates.append(Finding("phone", m.start(), m.end(), m.group(0)))
    for m in _NO_LOCAL_RE.finditer(text):
        written = m.group(0)
        # Eight digits in a row may be a date written without dots (17052026).
        if written.isdigit() and _looks_like_date(written):
            continue
        candidates.append(Finding("phone", m.start(), m.end(), written))

    # Accepted findings never overlap, so sorted by start their ends are sorted too and a
    # candidate only needs comparing with its neighbours (keeps 100 kB pastes fast).
    accepted: list[Finding] = []
    starts: list[int] = []
    for cand in sorted(candidates, key=lambda c: (_PRIORITY[c.kind], c.start, -c.end)):
        i = bisect.bisect_right(starts, cand.start)
        if i > 0 and accepted[i - 1].end > cand.start:
            continue
        if i < len(accepted) and accepted[i].start < cand.end:
            continue
        accepted.insert(i, cand)
        starts.insert(i, cand.start)
    return accepted


def has_personal_data(text: str) -> bool:
    """Tell whether a message contains any personal data.

    Args:
        text: The message.

    Returns:
        True if :func:`find_personal_data` finds anything.
    """
    return bool(find_personal_data(text))


def kinds(text: str) -> list[str]:
    """List the kinds of personal data in a message.

    Args:
        text: The message.

    Returns:
        Sorted unique kinds, e.g. ``["email", "phone"]``.
    """
    return sorted({f.kind for f in find_personal_data(text)})


def _id_shaped(digits: str) -> bool:
    """Eleven digits that start with a plausible DDMMYY (day 01-31 or a D-number's 41-71,
    month 01-12 or an H-number's 41-52), whatever their check digits."""
    day, month = int(digits[0:2]), int(digits[2:4])
    return len(digits) == 11 and (1 <= day <= 31 or 41 <= day <= 71) and (1 <= month <= 12 or 41 <= month <= 52)


def find_for_staff(text: str) -> list[Finding]:
    """:func:`find_personal_data` plus numbers shaped like a national id whose check digits fail
    (a typo in a real one is still personal data): what staff views and harvest files mask."""
    found = find_personal_data(text)
    taken = [(f.start, f.end) for f in found]
    for pattern in (_ID_RE, _SPACED_ID_RE):
        for m in pattern.finditer(text or ""):
            if _id_shaped(_NON_DIGIT_RE.sub("", m.group(0))) and not any(
                    m.start() < end and start < m.end() for start, end in taken):
                found.append(Finding("national_id", m.start(), m.end(), m.group(0)))
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def mask_for_staff(text: str) -> str:
    """:func:`mask` with :func:`find_for_staff`: for staff views and harvest files."""
    return mask(text, find_for_staff(text))


def _mask_one(kind: str, written: str) -> str:
    """Mask one finding's text; see :func:`mask` for the shapes."""
    if kind == "email":
        domain = written.rpartition("@")[2]
        return f"{written[0]}{MASK_CHAR * 3}@{MASK_CHAR * 3}.{domain.rpartition('.')[2]}"
    return _DIGIT_RE.sub(MASK_CHAR, written)


def mask(text: str, findings: list[Finding] | None = None) -> str:
    """Hide personal data while keeping the message readable.

    Every digit of a national id or phone number becomes "•" and separators stay, so the
    masked text keeps the shape and length of the number. An e-mail address keeps only its
    first character and top-level domain ("kari@sogndal.kommune.no" -> "k•••@•••.no"), with
    a fixed-length mask so its length is not revealed either. Masks hold no words because
    texts shown to people live in the language files.

    Args:
        text: The message.
        findings: Findings for this text, e.g. from an earlier :func:`find_personal_data`
            call; found anew when None. Findings outside the text or overlapping an earlier
            one are ignored, and the text is always taken from ``text`` itself.

    Returns:
        The masked message; unchanged if there is nothing to mask.
    """
    if findings is None:
        findings = find_personal_data(text)
    if not findings:
        return text
    parts: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.start < pos or f.end > len(text) or f.start >= f.end:
            continue
        parts.append(text[pos : f.start])
        parts.append(_mask_one(f.kind, text[f.start : f.end]))
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)

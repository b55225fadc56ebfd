"""What the dialogue keeps in slots: the municipality's profile, the service desk's state and the
conversation's language. Actions are thin calls into these functions.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Iterable, Mapping, Optional

from bot.handoff.reasons import handoff_reason
from bot.language.detector import Detection, resolve_language
from bot.municipality import Municipality, desk_status, load_locale, load_municipality


def municipality() -> Municipality:
    """Returns the profile of the configured municipality (``MUNICIPALITY``)."""
    return load_municipality()


def valid_language(value: Any, profile: Municipality) -> str:
    """Returns ``value`` if the municipality offers it, else its default language."""
    return value if value in profile.languages else profile.default_language


def profile_slots(profile: Municipality, language: str) -> Dict[str, Any]:
    """Returns the slots that carry the municipality's contact details in ``language``."""
    return {
        "country": profile.country,
        "municipality_name": profile.name_in(language),
        "phone": profile.phone,
        "email": profile.email,
        "address": profile.address,
        "website": profile.website,
        "duty_phone": profile.duty_phone,
        "meeting_calendar_url": profile.meeting_calendar_url,
        "public_records_url": profile.public_records_url,
    }


def desk_slots(profile: Municipality, language: str, now: Optional[datetime] = None) -> Dict[str, Any]:
    """Returns the slots that describe the service desk's opening hours at ``now``."""
    status = desk_status(profile, language, now, special_day_labels=True)
    templates = load_locale(language).templates
    special_days = (
        templates["special_days_ahead"].format(days=status.special_days)
        if status.special_days
        else templates["no_special_days"]
    )
    return {
        "desk_open": status.open_now,
        "today_hours": status.today_hours,
        "closes_at": status.closes_at or "",
        "next_opening": status.next_opening,
        "week_hours": status.week_hours,
        "special_days": special_days,
    }


def language_after_message(
    current: Optional[str], entities: Iterable[Mapping[str, Any]], profile: Municipality
) -> str:
    """Returns the conversation's language after a message with these NLU entities.

    Button payloads (``/intent``) carry no language entity and keep the current language.
    """
    current = valid_language(current, profile)
    entity = next((e for e in entities if e.get("entity") == "language"), None)
    if entity is None or entity.get("value") not in ("nn", "nb", "sv"):
        return current
    detection = Detection(
        language=entity["value"],
        confidence=float(entity.get("confidence") or 0.0),
        scores={},
        strong=bool(entity.get("strong")),
    )
    return resolve_language(
        current, detection, entity.get("requested"), profile.default_language, profile.languages
    )


def handoff_slots(
    profile: Municipality, language: str, intent: Optional[str], now: Optional[datetime] = None
) -> Dict[str, Any]:
    """Returns the desk slots plus ``handoff_reason`` for a turn that goes to staff."""
    slots = desk_slots(profile, language, now)
    slots["handoff_reason"] = handoff_reason(intent, slots["desk_open"])
    return slots

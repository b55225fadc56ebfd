"""What the dialogue keeps in slots: the municipality's profile, the service desk's state and the
conversation's language. Actions are thin calls into these functions.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from bot.core.languages import known_language
from bot.core.reasons import handoff_reason
from bot.language.detector import Detection, resolve_language
from bot.municipality import Municipality, desk_status, load_locale, load_municipality
from bot.safety.numbers import number_slots


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
        **number_slots(profile.country, profile.local_numbers),
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


# The municipality's default language is only a guess until the citizen has written something
# clear; a first clear message may set the language with less evidence than a later switch needs.
FIRST_CHOICE_CONFIDENCE = 0.8


def language_after_message(
    current: Optional[str],
    entities: Iterable[Mapping[str, Any]],
    profile: Municipality,
    chosen: bool = True,
    channel_choice: Optional[str] = None,
) -> Tuple[str, bool]:
    """Returns the conversation's language after a message with these NLU entities.

    Args:
        current: the conversation's language so far.
        entities: the message's entities (the ``language`` entity of LanguageIdentifier).
        profile: the municipality (offered and default languages).
        chosen: whether the language was already set by the citizen's own words; until then,
            a detection with at least :data:`FIRST_CHOICE_CONFIDENCE` is enough to set it.
        channel_choice: a language the citizen picked in the channel's own interface (see
            :func:`channel_language_choice`); an offered one counts as an explicit request.

    Returns:
        The language and whether it is now chosen. Button payloads (``/intent``) carry no
        language entity and change nothing.
    """
    current = valid_language(current, profile)
    # Added for the web widget (bot/channels/widget.py): the language chosen in the widget is an
    # explicit request, like "kan du skrive nynorsk?", and wins over what the text looks like.
    if channel_choice is not None and channel_choice in profile.languages:
        return channel_choice, True
    entity = next((e for e in entities if e.get("entity") == "language"), None)
    if entity is None or known_language(entity.get("value")) is None:
        return current, chosen
    confidence = float(entity.get("confidence") or 0.0)
    detection = Detection(language=entity["value"], confidence=confidence, scores={}, strong=bool(entity.get("strong")))
    requested = entity.get("requested")
    language = resolve_language(current, detection, requested, profile.default_language, profile.languages)
    if language != current or requested or detection.strong:
        return language, True
    if not chosen and confidence >= FIRST_CHOICE_CONFIDENCE and detection.language in profile.languages:
        return detection.language, True
    return current, chosen


# Added for the web widget (bot/channels/widget.py): its language choice arrives as message
# metadata {"language": "nn"}; language_after_message treats it as an explicit request.
def channel_language_choice(metadata: Any) -> Optional[str]:
    """Returns the language a channel's interface sent in the message metadata, or None."""
    value = metadata.get("language") if isinstance(metadata, Mapping) else None
    return known_language(value)


def needs_personal_data_warning(text: Any, already_warned: Any) -> bool:
    """Returns whether to warn the citizen about personal data now (once per conversation)."""
    from bot.privacy import has_personal_data

    return not already_warned and isinstance(text, str) and has_personal_data(text)


def handoff_slots(
    profile: Municipality,
    language: str,
    intent: Optional[str],
    now: Optional[datetime] = None,
    after_failed_answer: bool = False,
) -> Dict[str, Any]:
    """Returns the desk slots plus ``handoff_reason`` for a turn that goes to staff.

    Args:
        after_failed_answer: the citizen accepts the offer to pass on a question the website
            could not answer (or whose answer did not help): the handoff is ``unanswered``.
    """
    slots = desk_slots(profile, language, now)
    slots["handoff_reason"] = handoff_reason(None if after_failed_answer else intent, slots["desk_open"])
    return slots


def handoff_allowed_now(conversation_id: str, events: Iterable[Mapping[str, Any]], reason: Optional[str]) -> bool:
    """Whether the turn may open a handoff (the per-address cap of ``bot.handoff.limit``).

    A database that cannot be asked never stops a handoff: the citizen's case matters more.
    """
    from bot.core import clock
    from bot.core.config import get_settings
    from bot.handoff.limit import client_key_of, handoff_allowed

    try:
        return handoff_allowed(conversation_id, client_key_of(events), reason, clock.now(),
                               get_settings().handoffs_per_address)
    except Exception:
        logging.getLogger(__name__).exception("The handoff cap could not be checked; the handoff goes ahead")
        return True


def website_answer_slots(profile: Municipality, language: str, question: str) -> Dict[str, Any]:
    """Returns the slots of the assistant's answer from the website (or of its honest refusal)."""
    from bot.content.answer import answer

    try:
        decision = answer(question, profile.id, language)
    except Exception:  # no content or index: say we have no answer rather than fail the turn
        logging.getLogger(__name__).exception("Website search failed")
        decision = None
    if decision is not None and decision.answered:
        return {"website_answered": True, "answer_snippet": decision.snippet,
                "answer_title": decision.title, "answer_url": decision.url}
    return {"website_answered": False, "site_search_url": profile.site_search(question)}

"""Actions, driven the rasa-sdk way: trackers built inline, events and messages inspected."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from freezegun import freeze_time
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionPrepareHandoff
from actions.message_inspection import ActionInspectMessage
from actions.service_desk import ActionCheckDesk
from actions.session import ActionSessionStart
from tests.conftest import LANGUAGES

# Saltvika (nn default): Monday-Friday 08:00-15:30 Europe/Oslo.
TUESDAY_MORNING = "2026-11-17T09:00:00Z"  # 10:00 local, open
FRIDAY_EVENING = "2026-11-20T17:00:00Z"  # 18:00 local, closed until Monday
WEEKDAYS = {"nn": "tysdag", "nb": "tirsdag", "sv": "tisdag"}
MONDAYS = {"nn": "måndag 23. november kl. 08:00", "nb": "mandag 23. november kl. 08:00", "sv": "måndag 23 november kl. 08.00"}


def tracker(
    slots: Optional[Dict[str, Any]] = None,
    intent: Optional[str] = None,
    text: str = "",
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    return Tracker(
        sender_id="citizen-1",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def as_dict(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def language_entity(value: str, strong: bool, requested: Optional[str] = None) -> Dict[str, Any]:
    entity = {"entity": "language", "value": value, "start": 0, "end": 5, "confidence": 0.9, "strong": strong}
    if requested:
        entity["requested"] = requested
    return entity


async def test_session_starts_in_the_default_language_with_the_profile():
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker(), {})
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    slots = as_dict(events)
    assert slots["language"] == "nn"
    assert slots["municipality_name"] == "Saltvika kommune"
    assert slots["country"] == "NO"
    assert slots["duty_phone"] == "57 69 40 99"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_session_start_carries_the_language_over(language):
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker({"language": language}), {})
    assert as_dict(events)["language"] == language


@pytest.mark.parametrize("language", LANGUAGES)
async def test_strong_evidence_switches_language(language):
    current = "nb" if language != "nb" else "nn"
    events = await ActionInspectMessage().run(
        CollectingDispatcher(), tracker({"language": current}, entities=[language_entity(language, True)]), {}
    )
    slots = as_dict(events)
    assert slots["language"] == language
    assert slots["municipality_name"] == ("Saltvika kommun" if language == "sv" else "Saltvika kommune")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_weak_evidence_keeps_a_chosen_language(language):
    other = "sv" if language != "sv" else "nn"
    events = await ActionInspectMessage().run(
        CollectingDispatcher(),
        tracker({"language": language, "language_chosen": True}, entities=[language_entity(other, False)]),
        {},
    )
    assert events == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_first_clear_message_sets_the_language(language):
    default = "nn"  # Saltvika's
    entity = dict(language_entity(language, False), confidence=0.85)
    events = await ActionInspectMessage().run(
        CollectingDispatcher(), tracker({"language": default}, entities=[entity]), {}
    )
    slots = as_dict(events)
    assert slots["language_chosen"] is True
    assert slots.get("language", default) == language


async def test_ambiguous_first_message_keeps_the_default_until_a_clear_one():
    ambiguous = dict(language_entity("nb", False), confidence=0.55)
    assert await ActionInspectMessage().run(CollectingDispatcher(), tracker({"language": "nn"}, entities=[ambiguous]), {}) == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_personal_data_warning_once_in_the_new_language(language):
    strong = language_entity(language, True)
    dispatcher = CollectingDispatcher()
    events = await ActionInspectMessage().run(
        dispatcher, tracker({"language": "sv" if language != "sv" else "nn"}, text="ring meg på 91234567", entities=[strong]), {}
    )
    assert as_dict(events)["personal_data_warned"] is True
    [message] = dispatcher.messages
    opening = {"nn": "Eit lite råd: skriv helst ikkje", "nb": "Et lite råd: skriv helst ikke", "sv": "Ett litet råd: skriv helst inte"}
    assert message["text"].startswith(opening[language])
    again = CollectingDispatcher()
    events = await ActionInspectMessage().run(
        again, tracker({"language": language, "language_chosen": True, "personal_data_warned": True},
                       text="ring meg på 91234567", entities=[strong]), {}
    )
    assert again.messages == [] and events == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_explicit_request_wins(language):
    current = "sv" if language != "sv" else "nb"
    events = await ActionInspectMessage().run(
        CollectingDispatcher(),
        tracker({"language": current}, entities=[language_entity(current, True, requested=language)]),
        {},
    )
    assert as_dict(events)["language"] == language


@pytest.mark.parametrize("language", LANGUAGES)
async def test_language_chosen_in_the_widget_is_an_explicit_request(language):
    # The web widget sends its language choice as message metadata (bot/channels/widget.py);
    # it wins even over strong evidence for the current language, and with a button payload.
    current = "sv" if language != "sv" else "nb"
    for text, entities in (("/greet", []), ("hei", [language_entity(current, True)])):
        widget_tracker = tracker({"language": current, "language_chosen": True}, text=text, entities=entities)
        widget_tracker.latest_message["metadata"] = {"language": language}
        events = await ActionInspectMessage().run(CollectingDispatcher(), widget_tracker, {})
        assert as_dict(events)["language"] == language
    unknown = tracker({"language": current}, text="/greet")
    unknown.latest_message["metadata"] = {"language": "en"}
    assert await ActionInspectMessage().run(CollectingDispatcher(), unknown, {}) == []


async def test_button_payload_without_language_keeps_language():
    events = await ActionInspectMessage().run(CollectingDispatcher(), tracker({"language": "sv"}, text="/greet"), {})
    assert events == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_desk_open_on_a_weekday_morning(language):
    with freeze_time(TUESDAY_MORNING):
        events = await ActionCheckDesk().run(CollectingDispatcher(), tracker({"language": language}), {})
    slots = as_dict(events)
    assert slots["desk_open"] is True
    assert slots["today_hours"] == ("08.00–15.30" if language == "sv" else "08:00–15:30")
    assert slots["closes_at"] == ("i dag kl. 15.30" if language == "sv" else "i dag kl. 15:30")
    assert WEEKDAYS[language] not in slots["week_hours"]  # grouped: måndag–fredag


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "intent, reason", [("request_human", "out_of_hours"), ("personal_case", "personal_case"),
                       ("political_question", "political"), ("service_question", "out_of_hours")]
)
async def test_handoff_out_of_hours_says_when(language, intent, reason):
    with freeze_time(FRIDAY_EVENING):
        events = await ActionPrepareHandoff().run(
            CollectingDispatcher(), tracker({"language": language}, intent=intent), {}
        )
    slots = as_dict(events)
    assert slots["desk_open"] is False
    assert slots["handoff_reason"] == reason
    assert slots["next_opening"] == MONDAYS[language]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_handoff_in_hours(language):
    with freeze_time(TUESDAY_MORNING):
        events = await ActionPrepareHandoff().run(
            CollectingDispatcher(), tracker({"language": language}, intent="request_human"), {}
        )
    assert as_dict(events)["handoff_reason"] == "human_requested"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_greeting_gives_the_active_crisis_message_first_in_the_conversations_language(language):
    from datetime import datetime, timedelta, timezone

    from actions.crisis import ActionGiveCrisisMessage
    from bot.dialogue import crisis
    from bot.storage.db import session_scope, upgrade

    upgrade()
    texts = {"nn": "Vatnet er stengt.", "nb": "Vannet er stengt.", "sv": "Vattnet är avstängt."}
    with freeze_time(TUESDAY_MORNING):
        quiet = CollectingDispatcher()
        assert await ActionGiveCrisisMessage().run(quiet, tracker({"language": language}), {}) == []
        assert quiet.messages == []
        now = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)
        with session_scope() as session:
            crisis.publish(session, "saltvika", texts, now + timedelta(hours=3), ["nn", "nb", "sv"], "kari", now)
        dispatcher = CollectingDispatcher()
        assert await ActionGiveCrisisMessage().run(dispatcher, tracker({"language": language}), {}) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_crisis"
    assert message["crisis_text"] == texts[language]
    assert message["crisis_until"] in ("i dag kl. 13:00", "i dag kl. 13.00")


async def test_greeting_comes_without_the_crisis_message_when_the_database_is_away(monkeypatch, tmp_path):
    from actions.crisis import ActionGiveCrisisMessage
    from bot.core.config import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/archive.db")
    get_settings.cache_clear()
    dispatcher = CollectingDispatcher()
    assert await ActionGiveCrisisMessage().run(dispatcher, tracker({"language": "nn"}), {}) == []
    assert dispatcher.messages == []

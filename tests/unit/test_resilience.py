"""The action server cannot be reached: the Rasa server apologises in the conversation's language."""
from __future__ import annotations

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, FollowupAction, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server.patches.resilience import APOLOGY, apologise_when_action_server_fails
from bot.safety.numbers import number_slots
from tests.conftest import PROJECT_ROOT
from tests.e2e.assistant import free_port

APOLOGY_START = {"nn": "Orsak, eg har tekniske problem", "nb": "Beklager, jeg har tekniske problemer",
                 "sv": "Förlåt, jag har tekniska problem"}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def unreachable() -> EndpointConfig:
    apologise_when_action_server_fails()
    return EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")  # nothing listens there


def tracker(domain: Domain, slot: str | None, detected: str | None, strong: bool = False) -> DialogueStateTracker:
    entities = [{"entity": "language", "value": detected, "confidence": 0.95 if strong else 0.55,
                 "strong": strong}] if detected else []
    events = [ActionExecuted("action_listen"), UserUttered("kva er telefonnummeret", intent={"name": "ask_contact"},
                                                           entities=entities)]
    if slot:
        events[:0] = [SlotSet("language", slot), SlotSet("language_chosen", True)]
    # What the session start gave the conversation: the country and its emergency numbers.
    events[:0] = [SlotSet(k, v) for k, v in {"country": "NO", **number_slots("NO")}.items()]
    return DialogueStateTracker.from_events("c-1", events, slots=domain.slots)


async def run(action: str, domain: Domain, conversation: DialogueStateTracker, endpoint: EndpointConfig):
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return await RemoteAction(action, endpoint).run(CollectingOutputChannel(), nlg, conversation, domain)


@pytest.mark.parametrize(
    "slot, detected, strong, language",
    [("nn", "nb", False, "nn"),  # a weak detection does not move a conversation's language
     ("nn", "nb", True, "nb"),  # a strong one does, as the slot-validation action would decide
     (None, "nb", True, "nb"),  # the first message, before any language was set
     (None, None, False, "nn")],  # nothing known: Saltvika's default language
)
async def test_apology_in_the_conversation_language(domain, unreachable, slot, detected, strong, language):
    events = await run("action_check_desk", domain, tracker(domain, slot, detected, strong), unreachable)
    assert [type(e) for e in events] == [BotUttered, FollowupAction]
    assert events[0].text.startswith(APOLOGY_START[language])
    assert events[0].metadata["utter_action"] == APOLOGY
    assert events[1].action_name == "action_listen"  # the turn ends with the apology


async def test_one_apology_per_turn(domain, unreachable):
    conversation = tracker(domain, "nb", "nb")
    conversation.update_with_events(await run("action_check_desk", domain, conversation, unreachable), domain)
    assert await run("action_prepare_handoff", domain, conversation, unreachable) == []


async def test_language_check_runs_in_the_rasa_server(domain, unreachable):
    conversation = tracker(domain, None, "nb", strong=True)
    conversation.update(SlotSet("language", "nn"))
    conversation.update(SlotSet("language_chosen", False))
    events = await run("action_validate_slot_mappings", domain, conversation, unreachable)
    assert {e.key: e.value for e in events if isinstance(e, SlotSet)}["language"] == "nb"


async def test_personal_data_warning_without_the_action_server(domain, unreachable):
    conversation = DialogueStateTracker.from_events("c-2", [
        SlotSet("language", "nn"), SlotSet("language_chosen", True), ActionExecuted("action_listen"),
        UserUttered("fødselsnummeret mitt er 15038512363", intent={"name": "personal_case"})], slots=domain.slots)
    events = await run("action_validate_slot_mappings", domain, conversation, unreachable)
    assert isinstance(events[0], BotUttered) and events[0].text.startswith("Eit lite råd")
    assert SlotSet("personal_data_warned", True) in events


async def test_session_starts_in_the_rasa_server_without_the_action_server(domain, unreachable):
    events = await run("action_session_start", domain, tracker(domain, None, None), unreachable)
    assert isinstance(events[0], SessionStarted)
    slots = {e.key: e.value for e in events if isinstance(e, SlotSet)}
    assert (slots["language"], slots["municipality_name"], slots["phone"]) == ("nn", "Saltvika kommune", "57 69 40 00")
    assert not any(isinstance(e, BotUttered) for e in events)


def test_every_language_has_the_apology(domain):
    variations = domain.responses[APOLOGY]
    combinations = sorted(tuple(c["value"] for c in v["condition"]) for v in variations)
    assert combinations == [(language, country) for language in ("nb", "nn", "sv") for country in ("NO", "SE")]
    assert all("{number_" in v["text"] for v in variations)  # the numbers come from data/safety/numbers.yml


def test_an_unreachable_redis_is_explained_in_one_log_line(caplog):
    from rasa.core.lock_store import RedisLockStore

    from bot.rasa_server.patches.resilience import harden_lock_store

    harden_lock_store()
    port = free_port()  # nothing listens there
    store = RedisLockStore(host="127.0.0.1", port=port, db=0)
    with pytest.raises(Exception, match="Connection refused"):
        store.get_lock("c-9")
    assert (f"Redis lock store at 127.0.0.1:{port} cannot be reached (Error 111 connecting to 127.0.0.1:{port}. "
            f"Connection refused.): the message of conversation c-9 is not handled") in caplog.text


async def test_a_message_waiting_behind_a_dead_servers_lock_is_served_once_that_expires():
    import asyncio
    import time

    from rasa.core.lock_store import InMemoryLockStore

    from bot.rasa_server.patches.resilience import harden_lock_store

    harden_lock_store()
    store = InMemoryLockStore()
    store.issue_ticket("c-10", 0.5)  # a server died holding the conversation's lock
    started = time.monotonic()

    async def resent_message() -> None:  # the same message, resent at once to another server
        async with store.lock("c-10", lock_lifetime=0.5, wait_time_in_seconds=0.2):
            pass

    await asyncio.wait_for(resent_message(), timeout=10)  # Rasa alone waits for ever here
    assert 0.4 < time.monotonic() - started < 3

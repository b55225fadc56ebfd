"""The action server cannot be reached: the Rasa server apologises in the conversation's language."""
from __future__ import annotations

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.resilience import APOLOGY, apologise_when_action_server_fails
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


def tracker(domain: Domain, slot: str | None, detected: str | None) -> DialogueStateTracker:
    entities = [{"entity": "language", "value": detected}] if detected else []
    events = [ActionExecuted("action_listen"), UserUttered("kva er telefonnummeret", intent={"name": "ask_contact"},
                                                           entities=entities)]
    if slot:
        events.insert(0, SlotSet("language", slot))
    return DialogueStateTracker.from_events("c-1", events, slots=domain.slots)


async def run(action: str, domain: Domain, conversation: DialogueStateTracker, endpoint: EndpointConfig):
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return await RemoteAction(action, endpoint).run(CollectingOutputChannel(), nlg, conversation, domain)


@pytest.mark.parametrize(
    "slot, detected, language",
    [("nn", "nb", "nn"),  # the conversation's language wins over one message
     (None, "sv", "sv"),  # the first message, before any language was set
     (None, None, "nn")],  # nothing known: Saltvika's default language
)
async def test_apology_in_the_conversation_language(domain, unreachable, slot, detected, language):
    events = await run("action_check_desk", domain, tracker(domain, slot, detected), unreachable)
    assert len(events) == 1 and isinstance(events[0], BotUttered)
    assert events[0].text.startswith(APOLOGY_START[language])
    assert events[0].metadata["utter_action"] == APOLOGY


async def test_one_apology_per_turn(domain, unreachable):
    conversation = tracker(domain, "nb", "nb")
    conversation.update_with_events(await run("action_check_desk", domain, conversation, unreachable), domain)
    assert await run("action_prepare_handoff", domain, conversation, unreachable) == []


async def test_slot_validation_failure_is_left_to_rasa(domain, unreachable):
    with pytest.raises(RasaException):
        await run("action_validate_slot_mappings", domain, tracker(domain, "nn", "nn"), unreachable)


async def test_session_starts_without_the_action_server(domain, unreachable):
    events = await run("action_session_start", domain, tracker(domain, "nn", "nn"), unreachable)
    assert any(isinstance(e, SessionStarted) for e in events)
    assert not any(isinstance(e, BotUttered) for e in events)


def test_every_language_has_the_apology(domain):
    variations = domain.responses[APOLOGY]
    assert sorted(v["condition"][0]["value"] for v in variations) == ["nb", "nn", "sv"]

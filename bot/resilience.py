"""What the Rasa server does when the action server cannot be reached.

Rasa Open Source 3.6 logs a failed custom action ("Bot will continue, but the actions events are
lost") and goes on as if nothing had happened, so the citizen gets no answer at all; it has no
setting for this (RasaHQ/rasa#7630). ``apologise_when_action_server_fails()`` wraps Rasa's
``RemoteAction.run``: when the action server cannot be reached or answers with an error, the action
instead says ``utter_service_trouble`` (domain.yml) once per turn, in the conversation's language.
Nothing else changes: the next message calls the action server again, so service returns by
itself once it is back. The slot-validation action that Rasa runs after every message is left
alone (Rasa already handles its failure and the turn's own action apologises), and a session that
cannot run our ``action_session_start`` starts the way Rasa's default one does.

The Rasa server installs this when it creates the archive's event broker (``endpoints.yml``), so
every ``rasa run`` of this project has it.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional

logger = logging.getLogger(__name__)

APOLOGY = "utter_service_trouble"
SLOT_VALIDATION_ACTION = "action_validate_slot_mappings"
SESSION_START_ACTION = "action_session_start"
LANGUAGES = ("nn", "nb", "sv")
_installed = False


def conversation_language(tracker: Any) -> Optional[str]:
    """The language to apologise in: the conversation's, else the latest message's, else the default."""
    language = tracker.get_slot("language")
    if language in LANGUAGES:
        return language
    for entity in (tracker.latest_message.entities if tracker.latest_message else None) or []:
        if entity.get("entity") == "language" and entity.get("value") in LANGUAGES:
            return entity["value"]
    try:
        from bot.config import get_settings
        from bot.municipality import load_municipality

        return load_municipality(get_settings().municipality).default_language
    except Exception:  # a broken profile must not turn an apology into a crash
        logger.exception("No default language for the apology")
        return None


def _apologised_this_turn(tracker: Any) -> bool:
    from rasa.shared.core.events import BotUttered, UserUttered

    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and (event.metadata or {}).get("utter_action") == APOLOGY:
            return True
    return False


async def apology(tracker: Any, nlg: Any, output_channel: Any) -> List[Any]:
    """The events of ``utter_service_trouble`` in the conversation's language (none if said this turn)."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.events import SlotSet

    if _apologised_this_turn(tracker):
        return []
    speaking = tracker.copy()
    language = conversation_language(tracker)
    if language and speaking.get_slot("language") != language:
        speaking.update(SlotSet("language", language))
    message = await nlg.generate(APOLOGY, speaking, output_channel.name())
    if message is None:
        logger.error("The domain has no %s for language %s; the citizen gets no apology", APOLOGY, language)
        return []
    message["utter_action"] = APOLOGY
    return [create_bot_utterance(message)]


def apologise_when_action_server_fails() -> None:
    """Wraps Rasa's ``RemoteAction.run`` (once per process); see the module docstring."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.exceptions import RasaException

    original = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # the action declined (e.g. a form): Rasa predicts something else
        except RasaException as error:
            if self.name() == SLOT_VALIDATION_ACTION:
                raise
            if self.name() == SESSION_START_ACTION:
                # Without our session start the conversation still starts, the way Rasa's own does.
                from rasa.core.actions.action import ActionSessionStart

                logger.error("Action server failed to run %s (%s); starting the session Rasa's default way",
                             self.name(), error)
                return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
            logger.error("Action server failed to run %s (%s); the citizen gets %s",
                         self.name(), error, APOLOGY)
            return await apology(tracker, nlg, output_channel)

    RemoteAction.run = run
    _installed = True

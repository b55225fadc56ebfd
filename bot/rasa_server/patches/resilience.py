"""What the Rasa server does when the action server cannot be reached.

Rasa Open Source 3.6 logs a failed custom action ("Bot will continue, but the actions events are
lost") and goes on as if nothing had happened, so the citizen gets no answer at all; it has no
setting for this (RasaHQ/rasa#7630). ``apologise_when_action_server_fails()`` wraps Rasa's
``RemoteAction.run``: when the action server cannot be reached or answers with an error,

* the two actions that only read the municipality's profile and the message (``RUN_HERE``: the
  session start and the per-message language check) run inside the Rasa server instead, so the
  conversation keeps its language and contact details, and the responses that need no action
  still answer;
* any other action says ``utter_service_trouble`` (domain.yml) in the conversation's language,
  once per turn, and the turn ends there.

Nothing else changes: the next message calls the action server again, so service returns by
itself once it is back. Installed by ``bot.rasa_server.install()`` (bot/rasa_server/patches/__init__.py,
which lists every patch of Rasa), so every ``rasa run`` of this project has it.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional

from bot.dialogue.conversation import channel_language_choice, language_after_message, municipality
from bot.rasa_server.patches.originals import replace

logger = logging.getLogger(__name__)

APOLOGY = "utter_service_trouble"
#: Our actions that only read the municipality's profile and the message (no database): the Rasa
#: server runs them itself when the action server cannot, so that the conversation keeps its
#: language and contact details and the apology comes in the right language.
#: Named by path and loaded with importlib on purpose: ``actions/`` is the top layer (it imports
#: from every package of bot/), so an import of it from here would be a layering break and an import
#: cycle; and running the very same action classes, rather than a copy of what they do, keeps this
#: fallback from drifting away from the action server. The Rasa server loads them only on this path.
RUN_HERE = {
    "action_session_start": "actions.session.ActionSessionStart",
    "action_validate_slot_mappings": "actions.message_inspection.ActionInspectMessage",
}
_installed = False
_lock_store_hardened = False


def conversation_language(tracker: Any) -> Optional[str]:
    """The language the slot-validation action would have chosen after the latest message.

    That action cannot run either, so the same decision (``bot.dialogue.conversation.language_after_message``)
    is made here from the message's ``language`` entity, which the Rasa server's own NLU adds.
    """
    try:
        profile = municipality()
    except Exception:  # a broken profile must not turn an apology into a crash
        logger.exception("No municipality profile for the apology's language")
        return tracker.get_slot("language")
    message = tracker.latest_message
    language, _ = language_after_message(
        tracker.get_slot("language"), (message.entities if message else None) or [], profile,
        bool(tracker.get_slot("language_chosen")),
        channel_choice=channel_language_choice(message.metadata if message else None),
    )
    return language


async def run_here(remote: Any, action_path: str, output_channel: Any, nlg: Any, tracker: Any,
                   domain: Any) -> List[Any]:
    """Runs one of our Rasa SDK actions inside the Rasa server, as the action server would have."""
    import importlib

    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    module, _, name = action_path.rpartition(".")
    action = getattr(importlib.import_module(module), name)()
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, Tracker.from_dict(tracker.current_state(EventVerbosity.ALL)),
                              domain.as_dict())
    said = await remote._utter_responses(dispatcher.messages, output_channel, nlg, tracker)
    return said + [Event.from_parameters(event) for event in events]


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
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import FollowupAction, SlotSet

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
    # The turn ends with the apology: what the dialogue would say next may need the action's slots.
    return [create_bot_utterance(message), FollowupAction(ACTION_LISTEN_NAME)]


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
            if self.name() in RUN_HERE:
                logger.error("Action server failed to run %s (%s); the Rasa server runs it itself",
                             self.name(), error)
                try:
                    return await run_here(self, RUN_HERE[self.name()], output_channel, nlg, tracker, domain)
                except Exception:
                    logger.exception("%s failed in the Rasa server too", self.name())
                    raise error
            logger.error("Action server failed to run %s (%s); the citizen gets %s",
                         self.name(), error, APOLOGY)
            return await apology(tracker, nlg, output_channel)

    replace(RemoteAction, "run", run)
    _installed = True


def harden_lock_store() -> None:
    """Two mends to Rasa's lock store (once per process).

    * A Redis lock store that cannot be reached says so in one clear log line. Rasa answers such
      a message with nothing (the REST channel with ``[]``) and logs a long structured traceback;
      this adds what it means for the citizen and what to check.
    * A message waiting for a conversation's lock is never stranded. Rasa removes *every* expired
      ticket while it waits, its own too; when a server dies holding the lock and the message is
      resent to another server within a second (as a load balancer does), both tickets expire
      together and the resent message then waits for ever (the fault test of ``kill -9`` found
      this). Here the waiting ticket is put back with a fresh lifetime, keeping its place.
    """
    global _lock_store_hardened
    if _lock_store_hardened:
        return
    import time

    import redis
    from rasa.core import lock_store
    from rasa.core.lock import Ticket
    from rasa.core.lock_store import LockError, LockStore, RedisLockStore

    original_get_lock = RedisLockStore.get_lock

    def get_lock(self: RedisLockStore, conversation_id: str) -> Any:
        try:
            return original_get_lock(self, conversation_id)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            where = self.red.connection_pool.connection_kwargs
            logger.error("Redis lock store at %s:%s cannot be reached (%s): the message of conversation %s is "
                         "not handled, and none will be until Redis (REDIS_URL) is back",
                         where.get("host"), where.get("port"), error, conversation_id)
            raise

    async def acquire_lock(self: LockStore, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> Any:
        import asyncio

        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if all(t.number != ticket for t in lock.tickets):
                waiting = sorted([*lock.tickets, Ticket(ticket, time.time() + lock_store.LOCK_LIFETIME)],
                                 key=lambda t: t.number)
                lock.tickets.clear()
                lock.tickets.extend(waiting)
                self.save_lock(lock)
                logger.warning("Conversation %s: a waiting message's lock ticket had expired; it keeps its place",
                               conversation_id)
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    replace(RedisLockStore, "get_lock", get_lock)
    replace(LockStore, "_acquire_lock", acquire_lock)
    _lock_store_hardened = True

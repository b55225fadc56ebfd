"""Rasa's SQL tracker store, made to survive a database restart without losing a turn.

Rasa 3.6 wraps every tracker store in a ``FailSafeTrackerStore``: when reading a conversation fails,
it carries on with a *new, empty* conversation, and when saving fails it keeps the tracker in
memory. Its SQL store also has no connection check, so after PostgreSQL restarts the first query on
every pooled connection fails. Together that silently restarted conversations after a database
restart and, since Rasa then publishes only the events beyond those already stored, dropped the
turn from the archive as well (``tests/e2e/test_scale_out.py`` caught it).

``ResilientSQLTrackerStore`` (used by ``python -m bot run`` for every server database; SQLite files
get ``ArchivingSQLTrackerStore``, which only publishes new events more cheaply):

* checks a pooled connection before use (``pool_pre_ping``) and gives up connecting after 3 s;
* retries reading and saving for up to ``RETRY_SECONDS``, so a restart of a few seconds only
  delays the answer;
* when reading still fails, remembers the conversation and refuses to save the empty
  conversation Rasa then made over the stored one: Rasa keeps that turn in memory and publishes
  all of its events, so the archive (or its spool) still gets the message and the answer, and the
  stored conversation stays whole for the next message.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any, Awaitable, Callable, Optional, Set, Text, TypeVar

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
RETRY_PAUSE_SECONDS = 0.5
Result = TypeVar("Result")


class ArchivingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, finding the events to hand to the archive with one count query.

    Before every save, Rasa's own ``stream_events`` reads the conversation back and rebuilds it only
    to learn how many of its events are stored already; under load that was the largest single cost
    of a turn (``make bench-load``). ``save`` itself picks the events to store with a count of the
    stored events of the current session, so publishing the events past that same count gives the
    archive exactly the events that are stored, as before.
    """

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publishes the tracker's events that are not stored yet to the event broker."""
        if self.event_broker is None:
            return
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)


class TrackerStoreUnavailable(RuntimeError):
    """The conversation could not be read, so its stored state must not be overwritten now."""


class ResilientSQLTrackerStore(ArchivingSQLTrackerStore):
    """Rasa's SQL tracker store with connection checks and bounded retries (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import sqlalchemy as sa

        url = self.engine.url
        options = create_engine_kwargs(url)
        if url.get_backend_name() == "postgresql":
            options["connect_args"] = {**options.get("connect_args", {}), "connect_timeout": 3}
        self.engine.dispose()
        # hide_parameters: a failed statement's parameters (a citizen's words) never reach the log.
        self.engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **options)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._unread: Set[Text] = set()

    async def _retrying(self, what: str, call: Callable[[], Awaitable[Result]]) -> Result:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return await call()
            except Exception as error:
                if time.monotonic() >= deadline:
                    raise
                logger.warning("Tracker store: %s failed (%s); trying again", what, type(error).__name__)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """Reads a conversation, retrying while the database is briefly away."""
        try:
            tracker = await self._retrying("reading a conversation", lambda: super(ResilientSQLTrackerStore, self).retrieve(sender_id))
        except Exception:
            logger.error("Tracker store: conversation %s cannot be read; this turn is kept in memory and "
                         "archived, the stored conversation is left as it is", sender_id)
            self._unread.add(sender_id)
            raise
        self._unread.discard(sender_id)
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        """Reads a conversation with all its sessions, retrying while the database is briefly away."""
        return await self._retrying(
            "reading a whole conversation",
            lambda: super(ResilientSQLTrackerStore, self).retrieve_full_tracker(conversation_id),
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Saves a conversation, retrying while the database is briefly away.

        Raises:
            TrackerStoreUnavailable: the conversation could not be read this turn (Rasa then keeps
                the turn in memory and publishes it whole).
        """
        if tracker.sender_id in self._unread:
            self._unread.discard(tracker.sender_id)
            raise TrackerStoreUnavailable(
                f"conversation {tracker.sender_id} was not read this turn; not saved over the stored one")
        await self._retrying("saving a conversation", lambda: super(ResilientSQLTrackerStore, self).save(tracker))

"""Rasa's SQL tracker store, made to survive a database restart without losing a turn.

Rasa 3.6 wraps every tracker store in a ``FailSafeTrackerStore``: when reading a conversation fails,
it carries on with a *new, empty* conversation, and when saving fails it keeps the tracker in
memory. Its SQL store also has no connection check, so after PostgreSQL restarts the first query on
every pooled connection fails. Together that silently restarted conversations after a database
restart and, since Rasa then publishes only the events beyond those already stored, dropped the
turn from the archive as well (``tests/e2e/test_scale_out.py`` caught it).

``endpoints.yml`` names ``ProjectTrackerStore``: it reads the URL from the settings
(``TRACKER_STORE_URL``, else ``DATABASE_URL``'s server or a SQLite file beside the archive), so plain
``rasa run`` from the project root and ``python -m bot run`` get the same store. It makes a
``ResilientSQLTrackerStore`` for a server database, and for a SQLite file an
``ArchivingSQLTrackerStore``, which only publishes new events more cheaply. Both build their engine
once, with ``hide_parameters`` (a failed statement's parameters, a citizen's words, never reach the
log). ``ResilientSQLTrackerStore``:

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
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Set, Text, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import URL, make_url

from bot.core.config import get_settings

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

    def __init__(self, url: str, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        """Connects to the database at ``url`` and creates Rasa's tables there if they are missing.

        Rasa's own ``__init__`` is not called: it would build an engine that this store replaces.
        What it does for a URL (an engine, the tables, a session factory) is done here, once.

        Args:
            url: SQLAlchemy URL of the tracker store.
            domain: the assistant's domain.
            event_broker: where the events go (the archive's broker).
            **kwargs: passed on to Rasa's ``TrackerStore``.
        """
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(parsed, hide_parameters=True, **self.engine_options(parsed))
        self._create_tables()
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        TrackerStore.__init__(self, domain, event_broker, **kwargs)

    def _create_tables(self, attempts: int = 5) -> None:
        """Creates Rasa's tables if they are missing. Several servers starting together race to
        create them, and PostgreSQL then refuses the loser with a unique violation on its catalogue
        (an IntegrityError): as Rasa's own store does, wait and look again; by then they exist."""
        for attempt in range(1, attempts + 1):
            try:
                self.Base.metadata.create_all(self.engine)
                return
            except (sa.exc.IntegrityError, sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
                if attempt == attempts:
                    logger.error("Could not create the tracker store's tables: %s", type(error).__name__)
                    return
                logger.warning("The tracker store's tables are being created by another server (%s); "
                               "looking again", type(error).__name__)
                time.sleep(0.5 * attempt)

    @staticmethod
    def engine_options(url: URL) -> dict:
        """Options of the engine beyond ``hide_parameters``: Rasa's own (pool size, schema)."""
        return create_engine_kwargs(url)

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

    def __init__(self, url: str, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        self._unread: Set[Text] = set()
        super().__init__(url, domain, event_broker, **kwargs)

    @staticmethod
    def engine_options(url: URL) -> dict:
        """Rasa's options plus a connection check before use and a 3 s connect timeout."""
        options = create_engine_kwargs(url)
        if url.get_backend_name() == "postgresql":
            options["connect_args"] = {**options.get("connect_args", {}), "connect_timeout": 3}
        return {**options, "pool_pre_ping": True}

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


def store_class(url: str) -> type:
    """The store for ``url``: resilient for a server database, the lighter one for a SQLite file."""
    # A server database can restart under a running assistant (see the module docstring).
    return ArchivingSQLTrackerStore if make_url(url).get_backend_name() == "sqlite" else ResilientSQLTrackerStore


class ProjectTrackerStore:
    """The tracker store ``endpoints.yml`` names: the store of :func:`store_class` for the settings' URL.

    Rasa creates a custom tracker store as ``ProjectTrackerStore(host=<the endpoint's url>,
    domain=..., event_broker=..., **other keys)``; the object made is the store itself (a
    ``ResilientSQLTrackerStore`` or an ``ArchivingSQLTrackerStore``), not an instance of this class.
    """

    def __new__(cls, host: Optional[str] = None, domain: Any = None, event_broker: Any = None,
                **kwargs: Any) -> SQLTrackerStore:
        url = host or get_settings().tracker_store_url
        return store_class(url)(url, domain=domain, event_broker=event_broker, **kwargs)


def endpoint_config(url: Optional[str] = None) -> dict:
    """The ``tracker_store`` endpoint of ``endpoints.yml``; with ``url``, for that database instead."""
    return {"type": f"{__name__}.ProjectTrackerStore", **({"url": url} if url else {})}

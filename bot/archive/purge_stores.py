"""The stores beside the archive that the retention purge clears too (see :mod:`bot.archive.purge`).

* Rasa's tracker store (``TRACKER_STORE_URL``): Rasa's ``SQLTrackerStore`` keeps every event of a
  conversation in its table ``events`` (``sender_id``, ``timestamp`` in seconds since the epoch).
  It is in the archive database (the default on PostgreSQL) or in a database of its own (the
  default on SQLite: ``DATA_DIR/tracker.db``). A Redis or in-memory tracker store is not purged
  here, and the purge says so.
* The spool's replayed files (``SPOOL_DIR/replayed/<replay time>-spool-<host>-<pid>.jsonl``, see
  :mod:`bot.archive.spool`): copies of events that are in the archive already.

Staff sessions, Messenger message ids and conversation secrets belong to higher layers: they are
cleared by :mod:`bot.ops.retention`, in the same transaction.

Only ids, times and counts are read here: never an event's text or data.
"""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, func, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from bot.storage.db import engine_for

logger = logging.getLogger(__name__)

#: Rasa's ``SQLTrackerStore`` table (only the columns the purge needs; never ``data``).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("timestamp", Float),
)

#: Ids per ``IN (...)`` (SQLite allows 999 parameters in older versions).
CHUNK = 500

REDIS_SCHEMES = ("redis", "rediss")
MEMORY_NAMES = ("memory", "memory://", "in-memory", "inmemory", "in_memory")


def chunks(values: Iterable[str], size: int = CHUNK) -> Iterator[List[str]]:
    """Yields ``values`` in lists of at most ``size``."""
    batch: List[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _epoch(value: Optional[float]) -> Optional[datetime]:
    return datetime.fromtimestamp(value, tz=timezone.utc) if value is not None else None


# ------------------------------------------------------------------------------------------
# Rasa's tracker store
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerStoreTarget:
    """Where Rasa's tracker store is and whether the purge can reach it.

    Attributes:
        url: the SQLAlchemy URL, or None when the store is not an SQL database.
        description: for the command's output (password hidden).
        same_database: the store's ``events`` table is in the archive database.
        skipped: why the purge does not touch the store (None: it does).
    """

    url: Optional[str]
    description: str
    same_database: bool
    skipped: Optional[str]


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        if not a.database or not b.database or ":memory:" in (a.database, b.database):
            return False
        return Path(a.database).resolve() == Path(b.database).resolve()
    return (a.host or "localhost", a.port, a.database) == (b.host or "localhost", b.port, b.database)


def tracker_store_target(tracker_url: str, archive_url: str) -> TrackerStoreTarget:
    """Finds out from ``TRACKER_STORE_URL`` how the purge reaches the tracker store."""
    raw = (tracker_url or "").strip()
    lowered = raw.lower()
    if not raw or lowered in MEMORY_NAMES:
        return TrackerStoreTarget(None, "in memory", False,
                                  "the tracker store is in memory (it is gone when Rasa stops); nothing to purge")
    scheme = lowered.split(":", 1)[0]
    if scheme in REDIS_SCHEMES:
        return TrackerStoreTarget(None, "Redis", False,
                                  "the tracker store is Redis, which this purge does not handle; its conversations "
                                  "are not purged (Redis' own expiry, record_exp, must do it)")
    try:
        parsed = make_url(raw)
        parsed.get_dialect()
    except Exception as error:
        return TrackerStoreTarget(None, "not SQL", False,
                                  f"TRACKER_STORE_URL is not a database URL this purge can use ({type(error).__name__})")
    shown = parsed.render_as_string(hide_password=True)
    if _same_database(raw, archive_url):
        return TrackerStoreTarget(raw, f"SQL in the archive database, {shown}", True, None)
    description = f"SQL in its own database, {shown}"
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).is_file()):
        return TrackerStoreTarget(raw, description, False, "the tracker store's SQLite file does not exist; nothing to purge")
    return TrackerStoreTarget(raw, description, False, None)


@contextmanager
def separate_tracker_transaction(target: TrackerStoreTarget) -> Iterator[Optional[Connection]]:
    """A transaction on the tracker store's own database (None when it is skipped or the archive's).

    Commits after the ``with`` block ends without error: put the archive's transaction inside it,
    so the archive (with the purge log) commits first and the tracker store right after.
    """
    if target.skipped or target.same_database or target.url is None:
        yield None
        return
    connection = engine_for(target.url).connect()
    transaction = connection.begin()
    try:
        yield connection
    except BaseException:
        transaction.rollback()
        connection.close()
        raise
    try:
        transaction.commit()
    except Exception:
        logger.error("archive purge: the archive's part is committed, but deleting the tracker store's events "
                     "failed; run the purge again to delete them")
        raise
    finally:
        connection.close()


def has_events_table(bind) -> bool:
    """Whether the tracker store's ``events`` table exists (Rasa creates it when it first starts)."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    return inspect(connection).has_table(EVENTS.name)


def tracker_conversations(bind) -> Dict[str, Tuple[Optional[datetime], int]]:
    """Every conversation of the tracker store: sender id -> (time of its last event, number of events)."""
    rows = bind.execute(
        select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp), func.count()).group_by(EVENTS.c.sender_id)
    ).all()
    return {sender_id: (_epoch(last), count) for sender_id, last, count in rows}


def delete_tracker_events(bind, sender_id: str) -> int:
    """Deletes every event (all sessions) of one conversation; returns how many."""
    return bind.execute(delete(EVENTS).where(EVENTS.c.sender_id == sender_id)).rowcount or 0


def in_archive(session: Session, model_column, conversation_ids: Iterable[str]) -> Set[str]:
    """The ids among ``conversation_ids`` that ``model_column`` (e.g. ``ArchiveRecord.conversation_id``) holds."""
    found: Set[str] = set()
    for batch in chunks(conversation_ids):
        found.update(session.scalars(select(model_column).where(model_column.in_(batch)).distinct()))
    return found


# ------------------------------------------------------------------------------------------
# The spool's replayed files
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayedFile:
    """A file in ``SPOOL_DIR/replayed`` whose events are all older than the cutoff."""

    path: Path
    replayed_at: datetime
    conversation_ids: Tuple[str, ...]


def replayed_at(path: Path) -> datetime:
    """When a spool file was replayed: the stamp :meth:`bot.archive.spool.Spool.replay` puts in its name."""
    stamp = path.name.split("-", 1)[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def old_replayed_files(spool_dir: Path, cutoff: datetime) -> List[ReplayedFile]:
    """The replayed spool files replayed before ``cutoff`` whose every event happened before it.

    Files still waiting to be replayed (``SPOOL_DIR/spool-*.jsonl``) are never looked at. A line
    that is not JSON (cut short by a crash) does not keep its file.
    """
    folder = Path(spool_dir) / "replayed"
    if not folder.is_dir():
        return []
    found = []
    limit = cutoff.timestamp()
    for path in sorted(folder.glob("*.jsonl")):
        if not path.is_file():
            continue
        when = replayed_at(path)
        if when >= cutoff:
            continue
        conversation_ids: Set[str] = set()
        recent = False
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("sender_id"):
                conversation_ids.add(str(event["sender_id"]))
            timestamp = event.get("timestamp")
            if isinstance(timestamp, (int, float)) and timestamp >= limit:
                recent = True
        if not recent:
            found.append(ReplayedFile(path, when, tuple(sorted(conversation_ids))))
    return found

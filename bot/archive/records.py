"""Appending to the archive: the one function every writer uses, so sequence numbers and
duplicate protection work the same for the bot, staff and replays."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.archive.models import ArchiveRecord


def key_for(*parts: Any) -> str:
    """Returns a stable key for a source event (the same event always gives the same key)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def new_key() -> str:
    """Returns a key for a record that has no source event to be replayed (staff actions)."""
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def exists(session: Session, event_key: str) -> bool:
    """Returns whether a record with this key is already archived."""
    return session.execute(select(ArchiveRecord.id).where(ArchiveRecord.event_key == event_key)).first() is not None


def append_record(
    session: Session,
    conversation_id: str,
    kind: str,
    occurred_at: datetime,
    event_key: Optional[str] = None,
    **fields: Any,
) -> ArchiveRecord:
    """Appends one record with the conversation's next sequence number.

    Args:
        session: an open transaction.
        conversation_id: the conversation (Rasa sender id).
        kind: a :class:`bot.archive.models.Kind` value.
        occurred_at: when it happened (aware).
        event_key: the source event's key; a new random one when None.
        **fields: other columns (text, channel, sender_id, language, intent, data ...).

    Returns:
        The new record (flushed, so it has an id).
    """
    last = session.execute(
        select(func.max(ArchiveRecord.seq)).where(ArchiveRecord.conversation_id == conversation_id)
    ).scalar()
    record = ArchiveRecord(
        event_key=event_key or new_key(),
        conversation_id=conversation_id,
        seq=(last or 0) + 1,
        kind=kind,
        occurred_at=occurred_at.astimezone(timezone.utc),
        recorded_at=datetime.now(timezone.utc),
        **fields,
    )
    session.add(record)
    session.flush()
    return record

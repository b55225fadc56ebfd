"""The cap on new handoffs per client address, so that a script cannot bury real cases.

The channels put a keyed hash of the client's address in each message's metadata
(``client_key``, :mod:`bot.channels.limits`); the archive stores it on the handoff it opens
(never in the archive records). Before the assistant promises that staff will answer, the action
asks :func:`handoff_allowed`: at most ``HANDOFF_LIMIT_PER_ADDRESS`` new handoffs per address
within an hour. A crisis is never capped, and a conversation that already waits for staff adds
its new reason to its handoff rather than opening one, so it is never capped either.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import func, select

from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import Handoff
from bot.handoff.queue import unclosed_handoff
from bot.core.reasons import URGENT_REASONS

WINDOW = timedelta(hours=1)
CLIENT_KEY = "client_key"


def client_key_of(events: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The ``client_key`` of the latest citizen message among tracker events, if its channel set one."""
    for event in reversed(list(events)):
        if event.get("event") == "user":
            value = (event.get("metadata") or {}).get(CLIENT_KEY)
            return value if isinstance(value, str) and 0 < len(value) <= 64 else None
    return None


def handoff_allowed(conversation_id: str, client_key: Optional[str], reason: Optional[str], now: datetime,
                    limit: int, url: Optional[str] = None) -> bool:
    """Whether this turn may open a handoff for staff.

    Args:
        conversation_id: the conversation that asks.
        client_key: the keyed hash of the client's address (None: the channel has none, e.g.
            Messenger, where every delivery comes from Meta).
        reason: the handoff reason; a crisis is always allowed.
        now: the current time.
        limit: new handoffs per address and hour; 0 means no cap.
        url: the archive database.
    """
    if not client_key or limit <= 0 or not reason or reason in URGENT_REASONS:
        return True
    ensure_schema(url)
    with session_scope(url) as session:
        if unclosed_handoff(session, conversation_id) is not None:
            return True
        recent = session.execute(
            select(func.count(Handoff.id)).where(Handoff.client_key == client_key, Handoff.created_at >= now - WINDOW)
        ).scalar_one()
    return recent < limit

"""The staff outbox: messages that wait for the citizen's channel to deliver them.

Every channel delivers from here: the REST and widget channels when the citizen's client asks
(``GET /webhooks/outbox/messages``), Messenger through the Send API. A delivery is recorded once
per message (delivered or refused, with why), so nothing is sent twice.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select

from bot.core import clock
from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import OutboxDelivery, OutboxMessage
from bot.storage.base import utc


def take_pending(conversation_id: str, channels: Sequence[str], url: Optional[str] = None) -> List[Dict[str, Any]]:
    """Returns the undelivered messages of a conversation and records them as delivered.

    Args:
        conversation_id: the conversation (the channel's sender id).
        channels: the channels this caller delivers for (e.g. ``("rest",)``).
        url: the database (default: the configured one).

    Returns:
        Messages in the order staff wrote them: ``{"id", "text", "author", "created_at"}``.
    """
    ensure_schema(url)
    now = clock.now()
    with session_scope(url) as session:
        delivered = select(OutboxDelivery.outbox_id)
        pending = session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.conversation_id == conversation_id,
                OutboxMessage.channel.in_(list(channels)),
                OutboxMessage.id.not_in(delivered),
            )
            .order_by(OutboxMessage.id)
        ).scalars().all()
        for message in pending:
            session.add(OutboxDelivery(outbox_id=message.id, delivered=True, at=now))
        return [
            {"id": m.id, "text": m.text, "author": "staff", "created_at": utc(m.created_at).isoformat()}
            for m in pending
        ]

"""Messenger's 7-day window for staff replies, and its registration with the handoff queue.

Meta lets a page write to a person outside a conversation's 24 hours only with the
``HUMAN_AGENT`` tag, and only within 7 days of the person's last message. The queue refuses a
staff reply after that before it is recorded (:func:`bot.handoff.reply_checks.reply_refusal`);
the outbox delivery checks again when it sends (:mod:`bot.channels.messenger.delivery`).

This module needs neither Rasa nor Sanic, so the staff app and the command line can import the
channel package (which imports this module) to register the check cheaply.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.archive.models import ArchiveRecord, Kind
from bot.channels.messenger.common import CHANNEL, schema
from bot.handoff.reply_checks import ReplyRefusal, register_reply_check
from bot.storage.base import utc
from bot.storage.db import session_scope

REPLY_WINDOW = timedelta(days=7)
WINDOW_CLOSED = (
    "Messenger only allows replies within 7 days of the citizen's last message; "
    "contact the citizen another way"
)
NO_CITIZEN_MESSAGE = (
    "Messenger only allows replies within 7 days of the citizen's last message, and this "
    "conversation has no message from the citizen; contact the citizen another way"
)
REPLY_REFUSED = ReplyRefusal(
    "Messenger lets staff reply only within 7 days of the citizen's last message, and that "
    "time has passed; contact the citizen another way (phone, letter, e-mail). Nothing was sent.",
    "messenger_window",
)


def last_citizen_message_at(session: Session, conversation_id: str) -> Optional[datetime]:
    """When the citizen last wrote in the conversation (from the archive), or None if never."""
    moment = session.execute(
        select(ArchiveRecord.occurred_at)
        .where(ArchiveRecord.conversation_id == conversation_id, ArchiveRecord.kind == Kind.CITIZEN_MESSAGE)
        .order_by(ArchiveRecord.seq.desc())
        .limit(1)
    ).scalar()
    return utc(moment) if moment is not None else None


def window_open(last: Optional[datetime], now: Optional[datetime]) -> bool:
    """Whether a message at ``now`` is within 7 days of the citizen's last one (``last``)."""
    # Meta counts the window in real time, and the archive holds the real time of each message,
    # so the real clock is used here (not BOT_CLOCK).
    now = utc(now) if now is not None else datetime.now(timezone.utc)
    return last is not None and now - last <= REPLY_WINDOW


def messenger_reply_window_open(
    conversation_id: str, now: Optional[datetime] = None, url: Optional[str] = None
) -> bool:
    """Whether staff may still write to this Messenger conversation (HUMAN_AGENT tag, 7 days).

    Args:
        conversation_id: the conversation (the citizen's page-scoped id).
        now: the time to judge at (default: the real time now).
        url: the database (default: the configured one).

    Returns:
        True when the citizen's last message is at most 7 days old.
    """
    schema(url)
    with session_scope(url) as session:
        last = last_citizen_message_at(session, conversation_id)
    return window_open(last, now)


def _reply_check(conversation_id: str, url: Optional[str]) -> Optional[ReplyRefusal]:
    return None if messenger_reply_window_open(conversation_id, url=url) else REPLY_REFUSED


register_reply_check(CHANNEL, _reply_check)

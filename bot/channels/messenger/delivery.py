"""Staff replies to Messenger: the outbox is polled and its messages sent with the HUMAN_AGENT tag.

A message goes when the citizen's last message is at most 7 days old
(:mod:`bot.channels.messenger.window`); otherwise its delivery is recorded as refused, saying why.
The delivery row is inserted (unique per message) in the same transaction, before the message is
sent, so two servers never both send it. When the Graph API cannot be reached the row is rolled
back and the message is tried again, and a conversation's later messages wait for it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional, Set

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.archive.models import OutboxDelivery, OutboxMessage
from bot.channels.graph import GraphClient
from bot.channels.messenger.common import CHANNEL, PSID_PATTERN, logger, schema
from bot.channels.messenger.send import split_text
from bot.channels.messenger.window import NO_CITIZEN_MESSAGE, WINDOW_CLOSED, last_citizen_message_at, window_open
from bot.core import clock
from bot.storage.db import session_scope

STAFF_SEND_TIMEOUT = 5.0  # seconds per attempt; the delivery row's transaction waits for it


class _TryLater(Exception):
    """The Graph API could not be reached; the delivery row is rolled back and tried again."""


def _deliver_one(graph: GraphClient, outbox_id: int, url: Optional[str], now: Optional[datetime]) -> str:
    """Delivers one outbox message; returns sent, refused, failed, taken or later."""
    try:
        with session_scope(url) as session:
            message = session.get(OutboxMessage, outbox_id)
            if message is None:
                return "taken"
            delivery = OutboxDelivery(outbox_id=outbox_id, delivered=False, at=clock.now(), detail="sending")
            session.add(delivery)
            session.flush()  # the unique outbox_id: another server that got here first wins
            last = last_citizen_message_at(session, message.conversation_id)
            if not window_open(last, now):
                delivery.detail = WINDOW_CLOSED if last is not None else NO_CITIZEN_MESSAGE
                logger.warning("Messenger: staff message %d not sent: %s", outbox_id, delivery.detail)
                return "refused"
            recipient = message.recipient_id or message.conversation_id
            if not PSID_PATTERN.fullmatch(recipient or ""):
                delivery.detail = f"not a Messenger recipient id: {recipient[:64]!r}"
                return "failed"
            parts = split_text(message.text)
            for index, part in enumerate(parts):
                result = graph.send_sync(
                    {"recipient": {"id": recipient}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                     "message": {"text": part}},
                    timeout=STAFF_SEND_TIMEOUT,
                )
                if result.ok:
                    continue
                if index == 0 and (result.worth_trying_later or not graph.configured):
                    raise _TryLater(result.describe())
                done = f"; {index} of {len(parts)} parts were delivered" if index else ""
                delivery.detail = f"{result.describe()}{done}"
                return "failed"
            delivery.delivered = True
            delivery.detail = f"sent through the Send API with the HUMAN_AGENT tag ({len(parts)} message(s))"
            return "sent"
    except IntegrityError:
        return "taken"
    except _TryLater as why:
        logger.warning("Messenger: staff message %d will be tried again: %s", outbox_id, why)
        return "later"
    except OperationalError as error:  # e.g. the database is locked or away; nothing was recorded
        logger.warning("Messenger: staff message %d will be tried again: database error %s",
                       outbox_id, type(error.orig).__name__ if error.orig is not None else error)
        return "later"


def deliver_outbox(graph: GraphClient, url: Optional[str] = None, now: Optional[datetime] = None,
                   limit: int = 100) -> Dict[str, int]:
    """Sends the staff messages of Messenger conversations that are not delivered yet.

    Args:
        graph: the Send API client.
        url: the database (default: the configured one).
        now: the time to judge the 7-day window at (default: the real time now).
        limit: at most this many messages per call (the poller calls again).

    Returns:
        How many messages ended how (``sent``, ``refused``, ``failed``, ``taken``, ``later``).
    """
    schema(url)
    with session_scope(url) as session:
        pending = session.execute(
            select(OutboxMessage.id, OutboxMessage.conversation_id)
            .where(OutboxMessage.channel == CHANNEL, OutboxMessage.id.not_in(select(OutboxDelivery.outbox_id)))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    outcomes: Dict[str, int] = {}
    waiting: Set[str] = set()  # a conversation whose earlier message must go first
    for outbox_id, conversation_id in pending:
        if conversation_id in waiting:
            continue
        outcome = _deliver_one(graph, outbox_id, url, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "later":
            waiting.add(conversation_id)
    return outcomes

"""Staff replies through the queue: the Messenger reply window, and replies in the wrong state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.storage.db import session_scope, upgrade
from bot.archive.models import Kind
from bot.archive.models import Handoff, HandoffEvent, OutboxMessage
from bot.archive.records import append_record
import bot.channels  # noqa: F401  (the channels register their limits on staff replies, as in the staff app)
from bot.handoff import queue


@pytest.fixture
def url(archive_database_url):
    upgrade(archive_database_url)
    return archive_database_url


def handoff(url: str, channel: str, last_message_age: timedelta, status: str = "claimed") -> int:
    now = datetime.now(timezone.utc)
    with session_scope(url) as session:
        append_record(session, "c-1", Kind.CITIZEN_MESSAGE, now - last_message_age, channel=channel,
                      sender_id="c-1", text="hei", language="nn")
        row = Handoff(conversation_id="c-1", reason="human_requested", language="nn", channel=channel,
                      created_at=now - last_message_age, due_at=now + timedelta(days=1))
        session.add(row)
        session.flush()
        session.add(HandoffEvent(handoff_id=row.id, status="open", actor="bot", at=now - last_message_age))
        if status != "open":
            session.add(HandoffEvent(handoff_id=row.id, status=status, actor="kari", at=now))
        return row.id


def outbox_count(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count(OutboxMessage.id))).scalar()


def test_messenger_reply_after_seven_days_is_refused_clearly(url):
    handoff_id = handoff(url, "messenger", timedelta(days=8))
    with pytest.raises(queue.HandoffError, match="only within 7 days"):
        queue.reply(handoff_id, "kari", "Hei, vi har sett på saka di.", url=url)
    assert outbox_count(url) == 0


def test_messenger_reply_within_seven_days_goes_to_the_outbox(url):
    handoff_id = handoff(url, "messenger", timedelta(days=6))
    view = queue.reply(handoff_id, "kari", "Hei, vi har sett på saka di.", url=url)
    assert view.status == "answered" and outbox_count(url) == 1


def test_reply_to_an_unclaimed_handoff_is_refused(url):
    handoff_id = handoff(url, "rest", timedelta(hours=1), status="open")
    with pytest.raises(queue.HandoffError, match="is open; it cannot become answered"):
        queue.reply(handoff_id, "kari", "Hei", url=url)
    assert outbox_count(url) == 0


def test_empty_reply_is_refused(url):
    handoff_id = handoff(url, "rest", timedelta(hours=1))
    with pytest.raises(queue.HandoffError, match="empty"):
        queue.reply(handoff_id, "kari", "   ", url=url)

"""Tables of the handoff queue and the staff outbox; append-only like the archive (a handoff's
state is its latest event)."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Text

from bot.storage.base import Base, Id


class Handoff(Base):
    """A conversation handed to staff. Its state is the latest :class:`HandoffEvent`."""

    __tablename__ = "handoffs"

    id = Column(Id, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    reason = Column(String(32), nullable=False)
    language = Column(String(8), nullable=True)
    channel = Column(String(64), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    due_at = Column(DateTime(timezone=True), nullable=False)
    record_id = Column(Id, ForeignKey("archive_records.id"), nullable=True)
    # A keyed hash of the client address (never the address), to cap new handoffs per address.
    client_key = Column(String(64), nullable=True, index=True)


class HandoffEvent(Base):
    """A change of a handoff's state: open, claimed, answered, closed (and notes)."""

    __tablename__ = "handoff_events"

    id = Column(Id, primary_key=True, autoincrement=True)
    handoff_id = Column(Id, ForeignKey("handoffs.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False)
    actor = Column(String(255), nullable=True)
    at = Column(DateTime(timezone=True), nullable=False)
    detail = Column(Text, nullable=True)


class OutboxMessage(Base):
    """A staff message waiting to be delivered to the citizen by the conversation's channel."""

    __tablename__ = "outbox_messages"

    id = Column(Id, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=True)
    recipient_id = Column(String(255), nullable=False)
    text = Column(Text, nullable=False)
    author = Column(String(255), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    handoff_id = Column(Id, ForeignKey("handoffs.id"), nullable=True)
    record_id = Column(Id, ForeignKey("archive_records.id"), nullable=True)


class OutboxDelivery(Base):
    """The outcome of delivering an outbox message (one row per message)."""

    __tablename__ = "outbox_deliveries"

    id = Column(Id, primary_key=True, autoincrement=True)
    outbox_id = Column(Id, ForeignKey("outbox_messages.id"), nullable=False, unique=True)
    delivered = Column(Boolean, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    detail = Column(Text, nullable=True)

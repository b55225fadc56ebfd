"""Tables of the archive (SQLAlchemy 1.4, 2.0 style): its records, the handoffs and the staff outbox
(public records too: exported and purged with their conversation), and the purge log.

Every table here is append-only: rows are inserted, never updated or deleted in place (the only
deletion is ``python -m bot archive purge`` under the retention policy). A correction is a new
row that points at the row it corrects; a handoff's state is its latest event.
"""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint

from bot.storage.base import Base, Id


class Kind:
    """What an archive record is."""

    CITIZEN_MESSAGE = "citizen_message"
    BOT_MESSAGE = "bot_message"
    STAFF_MESSAGE = "staff_message"
    STAFF_NOTE = "staff_note"
    HANDOFF_EVENT = "handoff_event"
    STATE_CHANGE = "state_change"
    FEEDBACK = "feedback"


class ArchiveRecord(Base):
    """One thing said or done in a conversation, as it happened.

    Attributes:
        event_key: a hash of the source event; the same event is never stored twice (replays).
        conversation_id: Rasa's sender id: one conversation per citizen and channel.
        seq: 1, 2, 3 ... per conversation, in the order the records were written.
        kind: a :class:`Kind` value.
        channel: the input channel (``rest``, ``messenger``, ``widget``, ``staff``).
        sender_id: who wrote it: the citizen's id on the channel, ``bot``, or a staff user name.
        occurred_at: when it happened (UTC).
        recorded_at: when it was written here (UTC); later than ``occurred_at`` after a replay.
        text: the text exactly as received or sent.
        language: nn, nb or sv.
        intent, confidence: the NLU's reading of a citizen message.
        data: everything else (buttons, message id, metadata, handoff details) as JSON.
        personal_data: the kinds of personal data found in ``text`` (e.g. ``["national_id"]``).
        corrects_id: the record this one corrects, if any.
    """

    __tablename__ = "archive_records"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_archive_records_conversation_seq"),)

    id = Column(Id, primary_key=True, autoincrement=True)
    event_key = Column(String(64), nullable=False, unique=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    seq = Column(Integer, nullable=False)
    kind = Column(String(32), nullable=False)
    channel = Column(String(64), nullable=True)
    sender_id = Column(String(255), nullable=True)
    occurred_at = Column(DateTime(timezone=True), nullable=False, index=True)
    recorded_at = Column(DateTime(timezone=True), nullable=False)
    text = Column(Text, nullable=True)
    language = Column(String(8), nullable=True)
    intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    data = Column(JSON, nullable=True)
    personal_data = Column(JSON, nullable=True)
    corrects_id = Column(Id, ForeignKey("archive_records.id"), nullable=True)


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


class PurgeLog(Base):
    """What the retention purge deleted, and under which policy (kept after the purge)."""

    __tablename__ = "purge_log"

    id = Column(Id, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    actor = Column(String(255), nullable=True)
    conversation_id = Column(String(255), nullable=False)
    records_deleted = Column(Integer, nullable=False)
    policy = Column(Text, nullable=False)

"""What the export formats share: the period, the loaded conversations, checksums, times.

:func:`load_conversations` reads every conversation of a period whole in one transaction;
the writers (:mod:`bot.archive.export.jsonl`, :mod:`bot.archive.export.noark5`) and the
verifier use the helpers here, so that nothing here imports a writer.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import Handoff, HandoffEvent, OutboxDelivery, OutboxMessage
from bot.storage.base import utc

FORMATS: Tuple[str, ...] = ("noark5", "jsonl")

#: The name the exports give the system that created and archived the records.
SYSTEM_NAME = "Innbyggerassistenten (citizen assistant)"

_CHUNK = 1 << 16

class ExportError(ValueError):
    """An export cannot be made as asked (bad period or format, folder not empty)."""


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote.

    Attributes:
        format: ``"noark5"`` or ``"jsonl"``.
        out_dir: the package folder.
        from_date, to_date: the period (inclusive, UTC days).
        exported_at: the export time (UTC, whole seconds; ``BOT_CLOCK`` fixes it).
        municipality: the municipality profile id.
        conversations: number of conversations exported.
        records: number of archive records exported.
        records_by_kind: records per :class:`~bot.archive.models.Kind` value.
        records_outside_period: records of selected conversations that occurred outside the period.
        files: every file written, as path relative to ``out_dir`` (``/``-separated) -> SHA-256 hex.
    """

    format: str
    out_dir: Path
    from_date: date
    to_date: date
    exported_at: datetime
    municipality: str
    conversations: int
    records: int
    records_by_kind: Mapping[str, int]
    records_outside_period: int
    files: Mapping[str, str]

    def lines(self) -> List[str]:
        """A short human-readable account, one line each (for the command line)."""
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.records_by_kind.items())) or "none"
        lines = [
            f"{self.format} export of {self.from_date.isoformat()} to {self.to_date.isoformat()} (UTC) "
            f"into {self.out_dir}",
            f"{self.conversations} conversations, {self.records} records ({kinds})",
        ]
        if self.records_outside_period:
            lines.append(
                f"{self.records_outside_period} records lie outside the period: they belong to conversations "
                "that are exported whole"
            )
        lines.append(f"{len(self.files)} files written")
        return lines

# ------------------------------------------------------------------------------------------
# Helpers shared by the writers and the verifier
# ------------------------------------------------------------------------------------------


def iso_utc(value: datetime) -> str:
    """Formats a time as ISO 8601 in UTC with a ``Z``: ``2026-03-02T08:15:00Z`` (microseconds if any)."""
    moment = utc(value)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def sha256_file(path: Path) -> str:
    """Returns the SHA-256 of a file as lower-case hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def period_bounds(from_date: date, to_date: date) -> Tuple[datetime, datetime]:
    """Returns the period as ``[start, end)`` in UTC: from_date 00:00 to the day after to_date 00:00."""
    start = datetime.combine(from_date, time.min, tzinfo=timezone.utc)
    end = datetime.combine(to_date + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return start, end


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


@dataclass
class HandoffTrail:
    """A handoff of a conversation with its events in time order."""

    handoff: Handoff
    events: List[HandoffEvent] = field(default_factory=list)

    @property
    def status(self) -> Optional[str]:
        """The handoff's state: its latest event's status (None without events)."""
        return self.events[-1].status if self.events else None


@dataclass
class OutboxItem:
    """A staff message for delivery and its delivery outcome (None while it waits)."""

    message: OutboxMessage
    delivery: Optional[OutboxDelivery]


@dataclass
class Conversation:
    """One conversation as exported: its records in ``seq`` order, handoffs and outbox."""

    id: str
    records: List[ArchiveRecord]
    handoffs: List[HandoffTrail] = field(default_factory=list)
    outbox: List[OutboxItem] = field(default_factory=list)

    @property
    def channel(self) -> str:
        """The citizen's channel: that of the first citizen message, else of the first record ("" if none)."""
        for record in self.records:
            if record.kind == Kind.CITIZEN_MESSAGE and record.channel:
                return record.channel
        for record in self.records:
            if record.channel:
                return record.channel
        return ""

    @property
    def languages(self) -> List[str]:
        """The languages of the records, in order of first use."""
        seen: List[str] = []
        for record in self.records:
            if record.language and record.language not in seen:
                seen.append(record.language)
        return seen

    @property
    def first_at(self) -> datetime:
        return min(utc(record.occurred_at) for record in self.records)

    @property
    def last_at(self) -> datetime:
        return max(utc(record.occurred_at) for record in self.records)


@dataclass
class LoadedExport:
    """Everything an export writes, read in one transaction."""

    conversations: List[Conversation]
    #: ArchiveRecord.id -> (conversation id, seq), for records that others correct.
    record_refs: Dict[int, Tuple[str, int]]
    #: The earliest record in the whole database (when the archive began), None if empty.
    archive_started: Optional[datetime]


def _conversation_ids(session: Session, start: datetime, end: datetime) -> List[str]:
    """The conversations with a record in ``[start, end)``, in order of their first record (then id)."""
    in_period = (
        select(ArchiveRecord.conversation_id)
        .where(ArchiveRecord.occurred_at >= start, ArchiveRecord.occurred_at < end)
        .distinct()
    )
    firsts = session.execute(
        select(ArchiveRecord.conversation_id, func.min(ArchiveRecord.occurred_at))
        .where(ArchiveRecord.conversation_id.in_(in_period))
        .group_by(ArchiveRecord.conversation_id)
    ).all()
    return [row[0] for row in sorted(firsts, key=lambda row: (utc(row[1]), row[0]))]


def _handoff_trails(session: Session, conversation_id: str) -> List[HandoffTrail]:
    """The conversation's handoffs in creation order, each with its events in time order."""
    handoffs = list(
        session.scalars(
            select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.created_at, Handoff.id)
        )
    )
    trails = {handoff.id: HandoffTrail(handoff) for handoff in handoffs}
    if trails:
        for event in session.scalars(
            select(HandoffEvent)
            .where(HandoffEvent.handoff_id.in_(list(trails)))
            .order_by(HandoffEvent.at, HandoffEvent.id)
        ):
            trails[event.handoff_id].events.append(event)
    return [trails[handoff.id] for handoff in handoffs]


def _outbox_items(session: Session, conversation_id: str, handoff_ids: Sequence[int]) -> List[OutboxItem]:
    """The staff messages of the conversation or its handoffs, in time order, with their deliveries."""
    outbox_filter = OutboxMessage.conversation_id == conversation_id
    if handoff_ids:
        outbox_filter = or_(outbox_filter, OutboxMessage.handoff_id.in_(list(handoff_ids)))
    messages = list(
        session.scalars(select(OutboxMessage).where(outbox_filter).order_by(OutboxMessage.created_at, OutboxMessage.id))
    )
    deliveries: Dict[int, OutboxDelivery] = {}
    if messages:
        for delivery in session.scalars(
            select(OutboxDelivery).where(OutboxDelivery.outbox_id.in_([m.id for m in messages]))
        ):
            deliveries[delivery.outbox_id] = delivery
    return [OutboxItem(message, deliveries.get(message.id)) for message in messages]


def _load_conversation(session: Session, conversation_id: str) -> Conversation:
    """One conversation whole: records in ``seq`` order, handoffs and outbox."""
    records = list(
        session.scalars(
            select(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id).order_by(ArchiveRecord.seq)
        )
    )
    trails = _handoff_trails(session, conversation_id)
    outbox = _outbox_items(session, conversation_id, [trail.handoff.id for trail in trails])
    return Conversation(id=conversation_id, records=records, handoffs=trails, outbox=outbox)


def _record_refs(session: Session, conversations: Sequence[Conversation]) -> Dict[int, Tuple[str, int]]:
    """ArchiveRecord.id -> (conversation id, seq) of every exported record and of every record one corrects."""
    refs: Dict[int, Tuple[str, int]] = {}
    for conversation in conversations:
        for record in conversation.records:
            refs[record.id] = (record.conversation_id, record.seq)
    wanted = {
        record.corrects_id
        for conversation in conversations
        for record in conversation.records
        if record.corrects_id is not None and record.corrects_id not in refs
    }
    if wanted:
        for record_id, conversation_id, seq in session.execute(
            select(ArchiveRecord.id, ArchiveRecord.conversation_id, ArchiveRecord.seq).where(
                ArchiveRecord.id.in_(sorted(wanted))
            )
        ):
            refs[record_id] = (conversation_id, seq)
    return refs


def load_conversations(session: Session, start: datetime, end: datetime) -> LoadedExport:
    """Reads the conversations with at least one record in ``[start, end)``, whole.

    Conversations come in order of their first record (then id); records in ``seq`` order,
    handoff events and outbox messages in time order.

    Args:
        session: an open session (the whole export reads in this one transaction).
        start: the period's start (UTC, included).
        end: the period's end (UTC, excluded).

    Returns:
        The conversations, the references between records and when the archive began.
    """
    conversations = [_load_conversation(session, conversation_id)
                     for conversation_id in _conversation_ids(session, start, end)]
    refs = _record_refs(session, conversations)
    started = session.execute(select(func.min(ArchiveRecord.occurred_at))).scalar_one_or_none()
    return LoadedExport(conversations, refs, utc(started) if started is not None else None)


__all__ = [
    "Conversation",
    "ExportError",
    "ExportSummary",
    "FORMATS",
    "HandoffTrail",
    "LoadedExport",
    "OutboxItem",
    "SYSTEM_NAME",
    "iso_utc",
    "load_conversations",
    "period_bounds",
    "sha256_file",
]

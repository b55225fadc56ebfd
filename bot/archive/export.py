"""Exports of the archive for deposit with an archive institution: Noark 5 or JSON Lines.

``export(from_date, to_date, out_dir, fmt)`` selects every conversation with at least one archive
record whose ``occurred_at`` lies in the period, in UTC: from ``from_date`` 00:00:00 up to and
including ``to_date`` 23:59:59.999999. A selected conversation is exported whole, with every one
of its records, also those before or after the period, because an archive must receive complete
records (``ExportSummary.records_outside_period`` counts them). A conversation that spans two
periods is therefore in both periods' exports, with the same identifiers.

The archive copy is complete: texts are exported exactly as archived, personal data included
(the masking that applies to logs and statistics does not apply to the archive).

Formats:

* ``noark5``: a Noark 5 v3.1 arkivuttrekk (see :mod:`bot.archive.noark5`).
* ``jsonl``: ``records.jsonl`` (one JSON object per archive record, every column, in conversation
  then ``seq`` order) and ``manifest.json`` (counts, period, municipality, export time and the
  SHA-256 of every file), for archives that take other formats (e.g. Swedish municipalities).

:func:`bot.archive.verify.verify` checks either kind of package.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.core import clock
from bot.storage.db import session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import Handoff, HandoffEvent, OutboxDelivery, OutboxMessage
from bot.storage.base import utc

FORMATS: Tuple[str, ...] = ("noark5", "jsonl")

#: The name the exports give the system that created and archived the records.
SYSTEM_NAME = "Innbyggerassistenten (citizen assistant)"

JSONL_RECORDS = "records.jsonl"
JSONL_MANIFEST = "manifest.json"
JSONL_FORMAT_NAME = "citizen-assistant-archive-jsonl"
JSONL_FORMAT_VERSION = 1

SELECTION_RULE = (
    "conversations with at least one archive record whose occurred_at lies in the period "
    "(UTC, from_date 00:00:00 to to_date 23:59:59.999999); every record of a selected "
    "conversation is included, also records outside the period"
)

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
        """The citizen's channel: that of the first citizen message, else of the first record."""
        for record in self.records:
            if record.kind == Kind.CITIZEN_MESSAGE and record.channel:
                return record.channel
        for record in self.records:
            if record.channel:
                return record.channel
        return "ukjent"

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


def load_conversations(session: Session, start: datetime, end: datetime) -> LoadedExport:
    """Reads the conversations with at least one record in ``[start, end)``, whole.

    Conversations come in order of their first record (then id); records in ``seq`` order,
    handoff events and outbox messages in time order.
    """
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
    order = sorted(firsts, key=lambda row: (utc(row[1]), row[0]))
    conversations: List[Conversation] = []
    for conversation_id, _ in order:
        records = list(
            session.scalars(
                select(ArchiveRecord)
                .where(ArchiveRecord.conversation_id == conversation_id)
                .order_by(ArchiveRecord.seq)
            )
        )
        handoffs = list(
            session.scalars(
                select(Handoff)
                .where(Handoff.conversation_id == conversation_id)
                .order_by(Handoff.created_at, Handoff.id)
            )
        )
        handoff_ids = [handoff.id for handoff in handoffs]
        trails = {handoff.id: HandoffTrail(handoff) for handoff in handoffs}
        if handoff_ids:
            for event in session.scalars(
                select(HandoffEvent)
                .where(HandoffEvent.handoff_id.in_(handoff_ids))
                .order_by(HandoffEvent.at, HandoffEvent.id)
            ):
                trails[event.handoff_id].events.append(event)
        outbox_filter = OutboxMessage.conversation_id == conversation_id
        if handoff_ids:
            outbox_filter = or_(outbox_filter, OutboxMessage.handoff_id.in_(handoff_ids))
        messages = list(
            session.scalars(select(OutboxMessage).where(outbox_filter).order_by(OutboxMessage.created_at, OutboxMessage.id))
        )
        deliveries: Dict[int, OutboxDelivery] = {}
        if messages:
            for delivery in session.scalars(
                select(OutboxDelivery).where(OutboxDelivery.outbox_id.in_([m.id for m in messages]))
            ):
                deliveries[delivery.outbox_id] = delivery
        conversations.append(
            Conversation(
                id=conversation_id,
                records=records,
                handoffs=[trails[handoff_id] for handoff_id in handoff_ids],
                outbox=[OutboxItem(message, deliveries.get(message.id)) for message in messages],
            )
        )

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
    started = session.execute(select(func.min(ArchiveRecord.occurred_at))).scalar_one_or_none()
    return LoadedExport(conversations, refs, utc(started) if started is not None else None)


# ------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------


def _prepare_out_dir(out_dir: Path) -> bool:
    """Checks that ``out_dir`` is new or empty; creates it. Returns whether it was created."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir} exists and is not a folder; give a new or empty folder for the export")
        entries = sorted(entry.name for entry in out_dir.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (" ..." if len(entries) > 3 else "")
            raise ExportError(
                f"{out_dir} is not empty ({len(entries)} entries: {shown}); an export goes into a new or "
                "empty folder so that no unrelated file ends up in the package"
            )
        return False
    out_dir.mkdir(parents=True)
    return True


def _clean_up(out_dir: Path, created: bool) -> None:
    """Removes a half-written package (the folder was new or empty before the export)."""
    if created:
        shutil.rmtree(out_dir, ignore_errors=True)
        return
    for entry in out_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def export(
    from_date: date,
    to_date: date,
    out_dir: Path,
    fmt: str,
    url: Optional[str] = None,
    *,
    schema_dir: Optional[Path] = None,
) -> ExportSummary:
    """Exports the conversations of a period into a new package folder.

    The period is in UTC: a conversation is selected when at least one of its archive records
    occurred between ``from_date`` 00:00:00 UTC and ``to_date`` 23:59:59.999999 UTC (both
    included). A selected conversation is exported whole, with all its records, also those
    outside the period. Texts are exported exactly as archived, personal data included.

    Args:
        from_date: first day of the period (UTC).
        to_date: last day of the period (UTC), inclusive.
        out_dir: the package folder; it must not exist yet or be empty.
        fmt: ``"noark5"`` (Noark 5 v3.1 arkivuttrekk) or ``"jsonl"`` (records.jsonl + manifest.json).
        url: the database URL; defaults to the configured ``DATABASE_URL``.
        schema_dir: noark5 only: a folder with the official ``arkivstruktur.xsd`` and
            ``metadatakatalog.xsd`` to copy into the package (listed with their checksums in
            arkivuttrekk.xml, as deposits usually carry them). Without it the package names the
            schemas but does not contain them.

    Returns:
        What was written.

    Raises:
        ExportError: unknown format, ``from_date`` after ``to_date``, ``out_dir`` not empty or not
            a folder, or ``schema_dir`` without the schemas.
        bot.municipality.MunicipalityError: the configured municipality profile is unusable.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if from_date > to_date:
        raise ExportError(f"the period starts ({from_date}) after it ends ({to_date})")
    if schema_dir is not None and fmt != "noark5":
        raise ExportError("schema_dir only applies to the noark5 format")
    from bot.municipality import load_municipality

    municipality = load_municipality()
    out_dir = Path(out_dir)
    if schema_dir is not None:
        from bot.archive.noark5 import check_schema_dir

        check_schema_dir(Path(schema_dir))
    created = _prepare_out_dir(out_dir)
    start, end = period_bounds(from_date, to_date)
    exported_at = utc(clock.now()).replace(microsecond=0)
    try:
        with session_scope(url) as session:
            loaded = load_conversations(session, start, end)
        if fmt == "noark5":
            from bot.archive.noark5 import write_package

            files = write_package(
                out_dir,
                loaded,
                municipality=municipality,
                from_date=from_date,
                to_date=to_date,
                exported_at=exported_at,
                schema_dir=Path(schema_dir) if schema_dir is not None else None,
            )
        else:
            files = _write_jsonl(out_dir, loaded.conversations, municipality, from_date, to_date, exported_at)
    except BaseException:
        _clean_up(out_dir, created)
        raise
    records = [record for conversation in loaded.conversations for record in conversation.records]
    return ExportSummary(
        format=fmt,
        out_dir=out_dir,
        from_date=from_date,
        to_date=to_date,
        exported_at=exported_at,
        municipality=municipality.id,
        conversations=len(loaded.conversations),
        records=len(records),
        records_by_kind=dict(sorted(Counter(record.kind for record in records).items())),
        records_outside_period=sum(1 for record in records if not start <= utc(record.occurred_at) < end),
        files=files,
    )


# ------------------------------------------------------------------------------------------
# JSON Lines
# ------------------------------------------------------------------------------------------

_RECORD_COLUMNS: Tuple[str, ...] = tuple(column.key for column in ArchiveRecord.__table__.columns)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_to_json(record: ArchiveRecord) -> Dict[str, Any]:
    """Every column of an archive record, times as ISO 8601 UTC (``...Z``)."""
    return {name: _json_value(getattr(record, name)) for name in _RECORD_COLUMNS}


def _write_jsonl(
    out_dir: Path,
    conversations: Sequence[Conversation],
    municipality: Any,
    from_date: date,
    to_date: date,
    exported_at: datetime,
) -> Dict[str, str]:
    records_path = out_dir / JSONL_RECORDS
    kinds: Counter = Counter()
    count = 0
    with open(records_path, "w", encoding="utf-8", newline="\n") as handle:
        for conversation in conversations:
            for record in conversation.records:
                handle.write(json.dumps(record_to_json(record), ensure_ascii=False, default=str) + "\n")
                kinds[record.kind] += 1
                count += 1
    start, end = period_bounds(from_date, to_date)
    records_sha = sha256_file(records_path)
    manifest = {
        "format": JSONL_FORMAT_NAME,
        "format_version": JSONL_FORMAT_VERSION,
        "municipality": {
            "id": municipality.id,
            "name": municipality.name_in(municipality.default_language),
            "country": municipality.country,
        },
        "period": {
            "from": from_date.isoformat(),
            "to": to_date.isoformat(),
            "start": iso_utc(start),
            "end_exclusive": iso_utc(end),
            "time_zone": "UTC",
            "selection": SELECTION_RULE,
        },
        "exported_at": iso_utc(exported_at),
        "exported_by": SYSTEM_NAME,
        "counts": {
            "conversations": len(conversations),
            "records": count,
            "records_by_kind": dict(sorted(kinds.items())),
        },
        "columns": list(_RECORD_COLUMNS),
        "personal_data": "texts are exported exactly as archived; personal data is not masked",
        "files": {
            JSONL_RECORDS: {"sha256": records_sha, "bytes": records_path.stat().st_size},
        },
    }
    manifest_path = out_dir / JSONL_MANIFEST
    manifest_path.write_bytes((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return {JSONL_RECORDS: records_sha, JSONL_MANIFEST: sha256_file(manifest_path)}


__all__ = [
    "Conversation",
    "ExportError",
    "ExportSummary",
    "FORMATS",
    "HandoffTrail",
    "LoadedExport",
    "OutboxItem",
    "SYSTEM_NAME",
    "export",
    "iso_utc",
    "load_conversations",
    "period_bounds",
    "record_to_json",
    "sha256_file",
]

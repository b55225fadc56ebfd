"""The retention purge: deletes whole conversations that the retention policy lets go.

The policy is ``ARCHIVE_RETENTION_DAYS`` (``get_settings().archive_retention_days``):

* 0 (the default) means conversations are kept for ever: :func:`purge` refuses to delete anything.
* N > 0: a conversation may be deleted when everything in it happened before the cutoff, the
  earlier of ``before`` (00:00 UTC) and ``now`` minus N days. "Everything" is its archive records
  and also its handoffs, handoff events, outbox messages and deliveries, so that a handoff closed
  yesterday keeps an old conversation.

A conversation is kept even then when one of its handoffs is not closed (its latest event's status
is not ``closed``, or it has no events), when a staff message of it still waits for delivery, or
when a row of another conversation refers to one of its records.

A deleted conversation goes whole: archive records, handoffs, handoff events, outbox messages and
deliveries. Each gets one :class:`~bot.archive.models.PurgeLog` row (with the policy) and a log
line. Everything happens in one transaction: all of it or nothing.

Deposit first: the purge does not check that a conversation was exported, and it does not touch
Rasa's tracker store.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import List, Mapping, Optional, Tuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot import clock
from bot.archive.db import session_scope
from bot.archive.export import iso_utc
from bot.archive.models import (
    ArchiveRecord,
    Handoff,
    HandoffEvent,
    OutboxDelivery,
    OutboxMessage,
    PurgeLog,
    utc,
)
from bot.config import SettingsError, get_settings

logger = logging.getLogger(__name__)

CLOSED = "closed"


class PurgeForbidden(SettingsError):
    """The retention policy forbids purging (``ARCHIVE_RETENTION_DAYS`` is 0)."""


@dataclass(frozen=True)
class PurgedConversation:
    """What was (or, in a dry run, would be) deleted of one conversation."""

    conversation_id: str
    last_activity: datetime
    records: int
    handoffs: int
    handoff_events: int
    outbox_messages: int
    deliveries: int


@dataclass(frozen=True)
class PurgeSummary:
    """The outcome of :func:`purge`.

    Attributes:
        before: the ``before`` date asked for.
        now: the time the policy was applied at (UTC).
        retention_days: ``ARCHIVE_RETENTION_DAYS``.
        cutoff: everything of a purged conversation happened before this (UTC).
        policy: the policy as written to the purge log.
        actor: who ran the purge.
        dry_run: True when nothing was deleted (only reported).
        purged: the deleted conversations, by id.
        kept: conversations whose records are all old enough but that were kept, id -> reason.
    """

    before: date
    now: datetime
    retention_days: int
    cutoff: datetime
    policy: str
    actor: str
    dry_run: bool
    purged: Tuple[PurgedConversation, ...]
    kept: Mapping[str, str]

    @property
    def records_deleted(self) -> int:
        """Archive records deleted in total."""
        return sum(item.records for item in self.purged)

    def lines(self) -> List[str]:
        """A human-readable account, one line each (for the command line)."""
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            self.policy,
            f"{verb} {len(self.purged)} conversation(s) with {self.records_deleted} archive record(s)",
        ]
        lines += [
            f"  {item.conversation_id}: {item.records} records, {item.handoffs} handoffs, "
            f"{item.handoff_events} handoff events, {item.outbox_messages} outbox messages, "
            f"{item.deliveries} deliveries (last activity {iso_utc(item.last_activity)})"
            for item in self.purged
        ]
        if self.kept:
            lines.append(f"kept {len(self.kept)} old conversation(s):")
            lines += [f"  {conversation_id}: {reason}" for conversation_id, reason in self.kept.items()]
        return lines


def _policy(retention_days: int, before: date, now: datetime, cutoff: datetime) -> str:
    return (
        f"Retention policy ARCHIVE_RETENTION_DAYS={retention_days}: a conversation is deleted whole (archive "
        "records, handoffs, handoff events, outbox messages, deliveries) only when all of it happened before "
        f"{iso_utc(cutoff)} (the earlier of --before {before.isoformat()} 00:00 UTC and {iso_utc(now)} minus "
        f"{retention_days} days), none of its handoffs is open (latest event not '{CLOSED}') and none of its "
        "staff messages awaits delivery."
    )


def _latest(values: List[Optional[datetime]]) -> Optional[datetime]:
    present = [utc(value) for value in values if value is not None]
    return max(present) if present else None


def _examine(
    session: Session, conversation_id: str, last_record: datetime, cutoff: datetime
) -> Tuple[Optional[str], Optional[PurgedConversation], List[int], List[int], List[int]]:
    """Decides about one old conversation: (reason to keep, what to delete, handoff/outbox/record ids)."""
    handoffs = list(session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)))
    handoff_ids = [handoff.id for handoff in handoffs]
    events: List[HandoffEvent] = []
    if handoff_ids:
        events = list(
            session.scalars(
                select(HandoffEvent)
                .where(HandoffEvent.handoff_id.in_(handoff_ids))
                .order_by(HandoffEvent.at, HandoffEvent.id)
            )
        )
    for handoff in handoffs:
        own = [event for event in events if event.handoff_id == handoff.id]
        status = own[-1].status if own else None
        if status != CLOSED:
            state = f"its latest event is '{status}'" if status else "it has no events"
            return f"handoff {handoff.id} is not closed ({state})", None, [], [], []

    outbox_filter = OutboxMessage.conversation_id == conversation_id
    if handoff_ids:
        outbox_filter = or_(outbox_filter, OutboxMessage.handoff_id.in_(handoff_ids))
    messages = list(session.scalars(select(OutboxMessage).where(outbox_filter)))
    outbox_ids = [message.id for message in messages]
    deliveries = (
        list(session.scalars(select(OutboxDelivery).where(OutboxDelivery.outbox_id.in_(outbox_ids))))
        if outbox_ids
        else []
    )
    delivered = {delivery.outbox_id for delivery in deliveries}
    waiting = [message.id for message in messages if message.id not in delivered]
    if waiting:
        return f"staff message(s) {', '.join(map(str, waiting))} still await delivery", None, [], [], []

    last_activity = _latest(
        [last_record]
        + [handoff.created_at for handoff in handoffs]
        + [event.at for event in events]
        + [message.created_at for message in messages]
        + [delivery.at for delivery in deliveries]
    )
    assert last_activity is not None
    if last_activity >= cutoff:
        return f"its handoffs or outbox were active at {iso_utc(last_activity)}, after the cutoff", None, [], [], []

    record_ids = list(session.scalars(select(ArchiveRecord.id).where(ArchiveRecord.conversation_id == conversation_id)))
    if record_ids:
        referring = session.execute(
            select(ArchiveRecord.conversation_id)
            .where(ArchiveRecord.corrects_id.in_(record_ids), ArchiveRecord.conversation_id != conversation_id)
            .limit(1)
        ).first()
        referring = referring or session.execute(
            select(Handoff.conversation_id)
            .where(Handoff.record_id.in_(record_ids), Handoff.conversation_id != conversation_id)
            .limit(1)
        ).first()
        referring = referring or session.execute(
            select(OutboxMessage.conversation_id)
            .where(OutboxMessage.record_id.in_(record_ids), OutboxMessage.id.notin_(outbox_ids or [-1]))
            .limit(1)
        ).first()
        if referring:
            return f"conversation {referring[0]} refers to its records", None, [], [], []

    item = PurgedConversation(
        conversation_id=conversation_id,
        last_activity=last_activity,
        records=len(record_ids),
        handoffs=len(handoffs),
        handoff_events=len(events),
        outbox_messages=len(messages),
        deliveries=len(deliveries),
    )
    return None, item, handoff_ids, outbox_ids, record_ids


def purge(
    before: date,
    actor: str,
    url: Optional[str] = None,
    now: Optional[datetime] = None,
    *,
    dry_run: bool = False,
) -> PurgeSummary:
    """Deletes the conversations the retention policy allows to delete, in one transaction.

    Args:
        before: only conversations whose every record (and handoff, outbox activity) happened
            before this day (00:00 UTC) are considered.
        actor: who runs the purge (written to the purge log).
        url: the database URL; defaults to the configured ``DATABASE_URL``.
        now: the current time; defaults to :func:`bot.clock.now`.
        dry_run: only report what would be deleted.

    Returns:
        What was deleted and which old conversations were kept, and why.

    Raises:
        PurgeForbidden: ``ARCHIVE_RETENTION_DAYS`` is 0, so the policy forbids any purge.
    """
    retention_days = get_settings().archive_retention_days
    if retention_days <= 0:
        raise PurgeForbidden(
            "ARCHIVE_RETENTION_DAYS is 0, which means archived conversations are kept for ever: the "
            "retention policy forbids any purge, so nothing was deleted. Set ARCHIVE_RETENTION_DAYS to the "
            "number of days the municipality's retention decision allows (after the conversations have been "
            "deposited with the archive institution) to purge older conversations."
        )
    moment = utc(now) if now is not None else utc(clock.now())
    before_start = datetime.combine(before, time.min, tzinfo=timezone.utc)
    cutoff = min(before_start, moment - timedelta(days=retention_days))
    policy = _policy(retention_days, before, moment, cutoff)
    purged: List[PurgedConversation] = []
    kept = {}
    with session_scope(url) as session:
        old = session.execute(
            select(ArchiveRecord.conversation_id, func.max(ArchiveRecord.occurred_at))
            .group_by(ArchiveRecord.conversation_id)
            .having(func.max(ArchiveRecord.occurred_at) < cutoff)
            .order_by(ArchiveRecord.conversation_id)
        ).all()
        for conversation_id, last_record in old:
            reason, item, handoff_ids, outbox_ids, record_ids = _examine(
                session, conversation_id, utc(last_record), cutoff
            )
            if item is None:
                kept[conversation_id] = reason
                logger.info("archive purge keeps conversation %s: %s", conversation_id, reason)
                continue
            purged.append(item)
            if dry_run:
                logger.info("archive purge (dry run) would delete conversation %s", conversation_id)
                continue
            if outbox_ids:
                session.execute(delete(OutboxDelivery).where(OutboxDelivery.outbox_id.in_(outbox_ids)))
                session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))
            if handoff_ids:
                session.execute(delete(HandoffEvent).where(HandoffEvent.handoff_id.in_(handoff_ids)))
                session.execute(delete(Handoff).where(Handoff.id.in_(handoff_ids)))
            session.execute(delete(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id))
            details = (
                f" Deleted with it: {item.handoffs} handoff(s), {item.handoff_events} handoff event(s), "
                f"{item.outbox_messages} outbox message(s), {item.deliveries} delivery record(s); last activity "
                f"{iso_utc(item.last_activity)}."
            )
            session.add(
                PurgeLog(
                    at=moment,
                    actor=actor,
                    conversation_id=conversation_id,
                    records_deleted=item.records,
                    policy=policy + details,
                )
            )
            logger.info(
                "archive purge by %s deleted conversation %s: %d records, %d handoffs, %d handoff events, "
                "%d outbox messages, %d deliveries (last activity %s; cutoff %s, ARCHIVE_RETENTION_DAYS=%d)",
                actor,
                conversation_id,
                item.records,
                item.handoffs,
                item.handoff_events,
                item.outbox_messages,
                item.deliveries,
                iso_utc(item.last_activity),
                iso_utc(cutoff),
                retention_days,
            )
    summary = PurgeSummary(
        before=before,
        now=moment,
        retention_days=retention_days,
        cutoff=cutoff,
        policy=policy,
        actor=actor,
        dry_run=dry_run,
        purged=tuple(purged),
        kept=kept,
    )
    logger.info(
        "archive purge by %s %s %d conversation(s), %d archive record(s); kept %d old conversation(s)",
        actor,
        "would delete" if dry_run else "deleted",
        len(summary.purged),
        summary.records_deleted,
        len(kept),
    )
    return summary


__all__ = ["PurgeForbidden", "PurgeSummary", "PurgedConversation", "purge"]

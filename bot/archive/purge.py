"""The retention purge: deletes whole conversations that the retention policy lets go, and the
traces of them and of old staff work kept beside the archive.

The policy is ``ARCHIVE_RETENTION_DAYS`` (``get_settings().archive_retention_days``):

* 0 (the default) means conversations are kept for ever: :func:`purge` refuses to delete anything.
* N > 0: a conversation may be deleted when everything in it happened before the cutoff, the
  earlier of ``before`` (00:00 UTC) and ``now`` minus N days. "Everything" is its archive records
  and also its handoffs, handoff events, outbox messages and deliveries, and its events in Rasa's
  tracker store, so that a handoff closed yesterday (or a turn yesterday) keeps an old conversation.

A conversation is kept even then when one of its handoffs is not closed (its latest event's status
is not ``closed``, or it has no events), when a staff message of it still waits for delivery, or
when a row of another conversation refers to one of its records.

A deleted conversation goes whole: archive records, handoffs, handoff events, outbox messages,
deliveries and all its events in Rasa's SQL tracker store (``TRACKER_STORE_URL``). A conversation
found only in the tracker store (nothing of it archived) is deleted there under the same rules when
its last event is before the cutoff. Each deleted conversation gets one
:class:`~bot.archive.models.PurgeLog` row (with the policy and what was deleted of it) and a log line.

With the same cutoff the purge also deletes (see :mod:`bot.archive.purge_stores`):

* the spool's replayed files (``SPOOL_DIR/replayed/``) replayed before the cutoff, unless one of
  their events belongs to a conversation with an open handoff or an undelivered staff message
  (files still waiting to be replayed are never touched);
* staff sessions that ended or were last seen before the cutoff;
* Messenger message ids seen before the cutoff.

These get one more ``PurgeLog`` row, with the conversation id ``(other stores)`` and the counts.

The archive database is changed in one transaction: all of it or nothing. A tracker store in a
database of its own gets a transaction of its own, committed right after the archive's (if that
second commit fails, the error says so: running the purge again deletes what is left, then as
conversations found only in the tracker store). A Redis or in-memory tracker store is not touched
and the output says so. Spool files are deleted last inside the archive's transaction, so a
database failure leaves them. Log lines and the output name conversations, files and counts,
never what was written.

Deposit first: the purge does not check that a conversation was exported.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.core import clock
from bot.archive import purge_stores as stores
from bot.storage.db import session_scope
from bot.archive.export import iso_utc
from bot.archive.models import ArchiveRecord, PurgeLog
from bot.archive.models import Handoff, HandoffEvent, OutboxDelivery, OutboxMessage
from bot.storage.base import utc
from bot.core.config import SettingsError, get_settings

logger = logging.getLogger(__name__)

CLOSED = "closed"
#: ``PurgeLog.conversation_id`` of the row for what belongs to no one conversation.
OTHER_STORES = "(other stores)"


class PurgeForbidden(SettingsError):
    """The retention policy forbids purging (``ARCHIVE_RETENTION_DAYS`` is 0)."""


@dataclass(frozen=True)
class PurgedConversation:
    """What was (or, in a dry run, would be) deleted of one conversation.

    ``records`` is 0 for a conversation found only in the tracker store.
    """

    conversation_id: str
    last_activity: datetime
    records: int
    handoffs: int
    handoff_events: int
    outbox_messages: int
    deliveries: int
    tracker_events: int = 0


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
        tracker_store: where the tracker store is (password hidden).
        tracker_skipped: why the tracker store was not purged, or None.
        spool_files: names of the replayed spool files deleted.
        spool_kept: old replayed spool files kept, name -> reason.
        staff_sessions: staff sessions deleted.
        seen_messages: Messenger message ids deleted.
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
    tracker_store: str = ""
    tracker_skipped: Optional[str] = None
    spool_files: Tuple[str, ...] = ()
    spool_kept: Mapping[str, str] = field(default_factory=dict)
    staff_sessions: int = 0
    seen_messages: int = 0

    @property
    def records_deleted(self) -> int:
        """Archive records deleted in total."""
        return sum(item.records for item in self.purged)

    @property
    def tracker_events_deleted(self) -> int:
        """Tracker store events deleted in total."""
        return sum(item.tracker_events for item in self.purged)

    @property
    def tracker_only(self) -> int:
        """Deleted conversations that were only in the tracker store."""
        return sum(1 for item in self.purged if item.records == 0 and item.tracker_events)

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
            f"{item.deliveries} deliveries, {item.tracker_events} tracker store events "
            f"(last activity {iso_utc(item.last_activity)})"
            for item in self.purged
        ]
        if self.kept:
            lines.append(f"kept {len(self.kept)} old conversation(s):")
            lines += [f"  {conversation_id}: {reason}" for conversation_id, reason in self.kept.items()]
        if self.tracker_skipped:
            lines.append(f"tracker store ({self.tracker_store}): skipped, {self.tracker_skipped}")
        else:
            lines.append(
                f"tracker store ({self.tracker_store}): {verb} {self.tracker_events_deleted} event(s) of "
                f"{sum(1 for item in self.purged if item.tracker_events)} conversation(s), {self.tracker_only} "
                "of them only in the tracker store"
            )
        lines.append(f"spool: {verb} {len(self.spool_files)} replayed file(s)")
        lines += [f"  {name}" for name in self.spool_files]
        if self.spool_kept:
            lines.append(f"kept {len(self.spool_kept)} old replayed spool file(s):")
            lines += [f"  {name}: {reason}" for name, reason in self.spool_kept.items()]
        lines.append(f"staff sessions: {verb} {self.staff_sessions} (ended or last seen before the cutoff)")
        lines.append(f"Messenger seen message ids: {verb} {self.seen_messages} (seen before the cutoff)")
        return lines


def _policy(retention_days: int, before: date, now: datetime, cutoff: datetime) -> str:
    return (
        f"Retention policy ARCHIVE_RETENTION_DAYS={retention_days}: a conversation is deleted whole (archive "
        "records, handoffs, handoff events, outbox messages, deliveries, its events in Rasa's tracker store) only "
        f"when all of it happened before {iso_utc(cutoff)} (the earlier of --before {before.isoformat()} 00:00 UTC "
        f"and {iso_utc(now)} minus {retention_days} days), none of its handoffs is open (latest event not "
        f"'{CLOSED}') and none of its staff messages awaits delivery. Also deleted before the same time: replayed "
        "spool files (not one holding events of a conversation with an open handoff or an undelivered staff message), "
        "staff sessions that ended or were last seen, Messenger message ids seen."
    )


def _latest(values: List[Optional[datetime]]) -> Optional[datetime]:
    present = [utc(value) for value in values if value is not None]
    return max(present) if present else None


def _hold(session: Session, conversation_id: str):
    """Whether a conversation must be kept whatever its age: (reason or None, handoffs, events, messages, deliveries)."""
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
            return f"handoff {handoff.id} is not closed ({state})", handoffs, events, [], []

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
        reason = f"staff message(s) {', '.join(map(str, waiting))} still await delivery"
        return reason, handoffs, events, messages, deliveries
    return None, handoffs, events, messages, deliveries


def _examine(
    session: Session, conversation_id: str, last_seen: datetime, cutoff: datetime, tracker_events: int = 0
) -> Tuple[Optional[str], Optional[PurgedConversation], List[int], List[int], List[int]]:
    """Decides about one old conversation: (reason to keep, what to delete, handoff/outbox/record ids).

    ``last_seen`` is its last archive record or tracker store event, whichever is later.
    """
    reason, handoffs, events, messages, deliveries = _hold(session, conversation_id)
    if reason:
        return reason, None, [], [], []
    handoff_ids = [handoff.id for handoff in handoffs]
    outbox_ids = [message.id for message in messages]

    last_activity = _latest(
        [last_seen]
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
        tracker_events=tracker_events,
    )
    return None, item, handoff_ids, outbox_ids, record_ids


def purge(
    before: date,
    actor: str,
    url: Optional[str] = None,
    now: Optional[datetime] = None,
    *,
    dry_run: bool = False,
    tracker_url: Optional[str] = None,
    spool_dir: Optional[Path] = None,
) -> PurgeSummary:
    """Deletes what the retention policy allows to delete (see the module docstring).

    Args:
        before: only conversations whose every record (and handoff, outbox activity, tracker store
            event) happened before this day (00:00 UTC) are considered.
        actor: who runs the purge (written to the purge log).
        url: the archive's database URL; defaults to the configured ``DATABASE_URL``.
        now: the current time; defaults to :func:`bot.core.clock.now`.
        dry_run: only report what would be deleted.
        tracker_url: the tracker store's URL; defaults to the configured ``TRACKER_STORE_URL``.
        spool_dir: the archive's spool folder; defaults to the configured ``SPOOL_DIR``.

    Returns:
        What was deleted and which old conversations and files were kept, and why.

    Raises:
        PurgeForbidden: ``ARCHIVE_RETENTION_DAYS`` is 0, so the policy forbids any purge.
    """
    settings = get_settings()
    retention_days = settings.archive_retention_days
    if retention_days <= 0:
        raise PurgeForbidden(
            "ARCHIVE_RETENTION_DAYS is 0, which means archived conversations are kept for ever: the "
            "retention policy forbids any purge, so nothing was deleted. Set ARCHIVE_RETENTION_DAYS to the "
            "number of days the municipality's retention decision allows (after the conversations have been "
            "deposited with the archive institution) to purge older conversations."
        )
    archive_url = url or settings.database_url
    target = stores.tracker_store_target(tracker_url or settings.tracker_store_url, archive_url)
    spool_folder = Path(spool_dir) if spool_dir is not None else settings.spool_dir
    moment = utc(now) if now is not None else utc(clock.now())
    before_start = datetime.combine(before, time.min, tzinfo=timezone.utc)
    cutoff = min(before_start, moment - timedelta(days=retention_days))
    policy = _policy(retention_days, before, moment, cutoff)
    purged: List[PurgedConversation] = []
    kept: Dict[str, str] = {}
    spool_deleted: List[str] = []
    spool_kept: Dict[str, str] = {}
    tracker_skipped = target.skipped
    with stores.separate_tracker_transaction(target) as tracker_connection, session_scope(archive_url) as session:
        tracker = tracker_connection if tracker_connection is not None else (
            session if target.same_database and not target.skipped else None)
        if tracker is not None and not stores.has_events_table(tracker):
            tracker, tracker_skipped = None, "it has no events table yet (Rasa never saved a conversation there)"
        in_tracker = stores.tracker_conversations(tracker) if tracker is not None else {}

        old = dict(
            session.execute(
                select(ArchiveRecord.conversation_id, func.max(ArchiveRecord.occurred_at))
                .group_by(ArchiveRecord.conversation_id)
                .having(func.max(ArchiveRecord.occurred_at) < cutoff)
            ).all()
        )
        tracker_old = [sender for sender, (last, _) in in_tracker.items()
                       if last is not None and last < cutoff and sender not in old]
        archived = stores.in_archive(session, ArchiveRecord.conversation_id, tracker_old)
        candidates = sorted(set(old) | (set(tracker_old) - archived))

        for conversation_id in candidates:
            last_event, event_count = in_tracker.get(conversation_id, (None, 0))
            if last_event is not None and last_event >= cutoff:
                reason = f"its tracker store conversation was active at {iso_utc(last_event)}, after the cutoff"
                kept[conversation_id] = reason
                logger.info("archive purge keeps conversation %s: %s", conversation_id, reason)
                continue
            last_record = utc(old[conversation_id]) if conversation_id in old else None
            reason, item, handoff_ids, outbox_ids, record_ids = _examine(
                session, conversation_id, _latest([last_record, last_event]), cutoff, event_count
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
            stores.delete_conversation_secret(session, conversation_id)
            if tracker is not None and item.tracker_events:
                stores.delete_tracker_events(tracker, conversation_id)
            where = "" if item.records else " It was only in the tracker store."
            details = (
                f" Deleted with it: {item.handoffs} handoff(s), {item.handoff_events} handoff event(s), "
                f"{item.outbox_messages} outbox message(s), {item.deliveries} delivery record(s), "
                f"{item.tracker_events} tracker store event(s); last activity {iso_utc(item.last_activity)}.{where}"
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
                "%d outbox messages, %d deliveries, %d tracker store events (last activity %s; cutoff %s, "
                "ARCHIVE_RETENTION_DAYS=%d)",
                actor,
                conversation_id,
                item.records,
                item.handoffs,
                item.handoff_events,
                item.outbox_messages,
                item.deliveries,
                item.tracker_events,
                iso_utc(item.last_activity),
                iso_utc(cutoff),
                retention_days,
            )

        staff_sessions = stores.purge_staff_sessions(session, cutoff, dry_run)
        seen_messages = stores.purge_seen_messages(session, cutoff, dry_run)

        # Last, so that a failing statement above leaves the files where they are.
        holds: Dict[str, Optional[str]] = {}
        for replayed in stores.old_replayed_files(spool_folder, cutoff):
            reason = None
            for conversation_id in replayed.conversation_ids:
                if conversation_id not in holds:
                    holds[conversation_id] = _hold(session, conversation_id)[0]
                if holds[conversation_id]:
                    reason = f"it holds events of conversation {conversation_id}, whose {holds[conversation_id]}"
                    break
            if reason is None and not dry_run:
                try:
                    replayed.path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as error:
                    reason = f"it could not be deleted ({type(error).__name__})"
            if reason:
                spool_kept[replayed.path.name] = reason
                logger.info("archive purge keeps replayed spool file %s: %s", replayed.path.name, reason)
            else:
                spool_deleted.append(replayed.path.name)

        if not dry_run and (staff_sessions or seen_messages or spool_deleted):
            session.add(
                PurgeLog(
                    at=moment,
                    actor=actor,
                    conversation_id=OTHER_STORES,
                    records_deleted=0,
                    policy=policy + (
                        f" Deleted besides conversations: {staff_sessions} staff session(s), {seen_messages} "
                        f"Messenger seen message id(s), {len(spool_deleted)} replayed spool file(s)."
                    ),
                )
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
        tracker_store=target.description,
        tracker_skipped=tracker_skipped,
        spool_files=tuple(spool_deleted),
        spool_kept=spool_kept,
        staff_sessions=staff_sessions,
        seen_messages=seen_messages,
    )
    if tracker_skipped:
        logger.info("archive purge skips the tracker store (%s): %s", target.description, tracker_skipped)
    logger.info(
        "archive purge by %s %s %d conversation(s), %d archive record(s), %d tracker store event(s), "
        "%d replayed spool file(s), %d staff session(s), %d Messenger seen message id(s); kept %d old "
        "conversation(s)",
        actor,
        "would delete" if dry_run else "deleted",
        len(summary.purged),
        summary.records_deleted,
        summary.tracker_events_deleted,
        len(spool_deleted),
        staff_sessions,
        seen_messages,
        len(kept),
    )
    return summary


__all__ = ["OTHER_STORES", "PurgeForbidden", "PurgeSummary", "PurgedConversation", "purge"]

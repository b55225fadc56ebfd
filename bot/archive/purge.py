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

With the same cutoff the purge also deletes the spool's replayed files (``SPOOL_DIR/replayed/``,
see :mod:`bot.archive.purge_stores`) replayed before the cutoff, unless one of their events
belongs to a conversation with an open handoff or an undelivered staff message (files still
waiting to be replayed are never touched), and what the :class:`OtherStore` s given to
:func:`purge` hold: stores of higher layers (staff sessions, Messenger message ids, conversation
secrets) that the archive must not import. :func:`bot.ops.retention.purge`, which
``python -m bot archive purge`` runs, passes every such store; the purge runs them in the
archive's transaction. These get one more ``PurgeLog`` row, with the conversation id
``(other stores)`` and the counts.

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
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.core import clock
from bot.archive import purge_stores as stores
from bot.storage.db import session_scope
from bot.archive.export.common import iso_utc
from bot.archive.purge_summary import OtherStore, PurgeSummary, PurgedConversation
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


def _policy(retention_days: int, before: date, now: datetime, cutoff: datetime, others: Sequence[OtherStore]) -> str:
    return (
        f"Retention policy ARCHIVE_RETENTION_DAYS={retention_days}: a conversation is deleted whole (archive "
        "records, handoffs, handoff events, outbox messages, deliveries, its events in Rasa's tracker store) only "
        f"when all of it happened before {iso_utc(cutoff)} (the earlier of --before {before.isoformat()} 00:00 UTC "
        f"and {iso_utc(now)} minus {retention_days} days), none of its handoffs is open (latest event not "
        f"'{CLOSED}') and none of its staff messages awaits delivery. Also deleted before the same time: replayed "
        "spool files (not one holding events of a conversation with an open handoff or an undelivered staff message)"
        + "".join(f", {store.policy}" for store in others if store.purge_before is not None) + "."
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



@dataclass
class _Run:
    """One purge under way: its transaction, its cutoff and what it found so far."""

    session: Session
    tracker: Optional[object]  # the tracker store's connection or session; None when it is skipped
    actor: str
    moment: datetime
    cutoff: datetime
    retention_days: int
    policy: str
    dry_run: bool
    others: Tuple[OtherStore, ...]
    purged: List[PurgedConversation] = field(default_factory=list)
    kept: Dict[str, str] = field(default_factory=dict)

    def keep(self, conversation_id: str, reason: str) -> None:
        self.kept[conversation_id] = reason
        logger.info("archive purge keeps conversation %s: %s", conversation_id, reason)


def _settings_and_cutoff(before: date, now: Optional[datetime]) -> Tuple[object, int, datetime, datetime]:
    """The settings, ``ARCHIVE_RETENTION_DAYS``, the time and the cutoff; refuses when the policy forbids purging."""
    settings = get_settings()
    retention_days = settings.archive_retention_days
    if retention_days <= 0:
        raise PurgeForbidden(
            "ARCHIVE_RETENTION_DAYS is 0, which means archived conversations are kept for ever: the "
            "retention policy forbids any purge, so nothing was deleted. Set ARCHIVE_RETENTION_DAYS to the "
            "number of days the municipality's retention decision allows (after the conversations have been "
            "deposited with the archive institution) to purge older conversations."
        )
    moment = utc(now) if now is not None else utc(clock.now())
    before_start = datetime.combine(before, time.min, tzinfo=timezone.utc)
    return settings, retention_days, moment, min(before_start, moment - timedelta(days=retention_days))


def _candidates(session: Session, in_tracker: Mapping[str, Tuple[Optional[datetime], int]],
                cutoff: datetime) -> Tuple[Dict[str, datetime], List[str]]:
    """Conversations whose archive records (or, if not archived, tracker events) all precede the cutoff.

    Returns:
        The archived ones with their last record's time, and every candidate id in order.
    """
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
    return old, sorted(set(old) | (set(tracker_old) - archived))


def _delete_conversation(run: _Run, item: PurgedConversation, handoff_ids: List[int], outbox_ids: List[int]) -> None:
    """Deletes one conversation from every store and writes its purge log row."""
    session, conversation_id = run.session, item.conversation_id
    if outbox_ids:
        session.execute(delete(OutboxDelivery).where(OutboxDelivery.outbox_id.in_(outbox_ids)))
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))
    if handoff_ids:
        session.execute(delete(HandoffEvent).where(HandoffEvent.handoff_id.in_(handoff_ids)))
        session.execute(delete(Handoff).where(Handoff.id.in_(handoff_ids)))
    session.execute(delete(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id))
    for store in run.others:
        if store.forget_conversation is not None:
            store.forget_conversation(session, conversation_id)
    if run.tracker is not None and item.tracker_events:
        stores.delete_tracker_events(run.tracker, conversation_id)
    where = "" if item.records else " It was only in the tracker store."
    details = (
        f" Deleted with it: {item.handoffs} handoff(s), {item.handoff_events} handoff event(s), "
        f"{item.outbox_messages} outbox message(s), {item.deliveries} delivery record(s), "
        f"{item.tracker_events} tracker store event(s); last activity {iso_utc(item.last_activity)}.{where}"
    )
    session.add(PurgeLog(at=run.moment, actor=run.actor, conversation_id=conversation_id,
                         records_deleted=item.records, policy=run.policy + details))
    logger.info(
        "archive purge by %s deleted conversation %s: %d records, %d handoffs, %d handoff events, "
        "%d outbox messages, %d deliveries, %d tracker store events (last activity %s; cutoff %s, "
        "ARCHIVE_RETENTION_DAYS=%d)",
        run.actor, conversation_id, item.records, item.handoffs, item.handoff_events, item.outbox_messages,
        item.deliveries, item.tracker_events, iso_utc(item.last_activity), iso_utc(run.cutoff), run.retention_days,
    )


def _purge_conversations(run: _Run, in_tracker: Mapping[str, Tuple[Optional[datetime], int]]) -> None:
    """Examines every old conversation and deletes (or, in a dry run, reports) those the policy lets go."""
    old, candidates = _candidates(run.session, in_tracker, run.cutoff)
    for conversation_id in candidates:
        last_event, event_count = in_tracker.get(conversation_id, (None, 0))
        if last_event is not None and last_event >= run.cutoff:
            run.keep(conversation_id,
                     f"its tracker store conversation was active at {iso_utc(last_event)}, after the cutoff")
            continue
        last_record = utc(old[conversation_id]) if conversation_id in old else None
        reason, item, handoff_ids, outbox_ids, _ = _examine(
            run.session, conversation_id, _latest([last_record, last_event]), run.cutoff, event_count
        )
        if item is None:
            run.keep(conversation_id, reason)
            continue
        run.purged.append(item)
        if run.dry_run:
            logger.info("archive purge (dry run) would delete conversation %s", conversation_id)
            continue
        _delete_conversation(run, item, handoff_ids, outbox_ids)


def _purge_spool(run: _Run, spool_folder: Path) -> Tuple[List[str], Dict[str, str]]:
    """Deletes the old replayed spool files that hold no kept conversation's events; returns deleted and kept."""
    deleted: List[str] = []
    kept: Dict[str, str] = {}
    holds: Dict[str, Optional[str]] = {}
    for replayed in stores.old_replayed_files(spool_folder, run.cutoff):
        reason = None
        for conversation_id in replayed.conversation_ids:
            if conversation_id not in holds:
                holds[conversation_id] = _hold(run.session, conversation_id)[0]
            if holds[conversation_id]:
                reason = f"it holds events of conversation {conversation_id}, whose {holds[conversation_id]}"
                break
        if reason is None and not run.dry_run:
            try:
                replayed.path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                reason = f"it could not be deleted ({type(error).__name__})"
        if reason:
            kept[replayed.path.name] = reason
            logger.info("archive purge keeps replayed spool file %s: %s", replayed.path.name, reason)
        else:
            deleted.append(replayed.path.name)
    return deleted, kept


def _log_other_stores(run: _Run, counts: Mapping[str, int], spool_deleted: Sequence[str]) -> None:
    """One purge log row for what belongs to no one conversation (when something was deleted)."""
    if run.dry_run or not (any(counts.values()) or spool_deleted):
        return
    deleted = "".join(f"{counts[store.key]} {store.log_label}, " for store in run.others if store.key in counts)
    run.session.add(PurgeLog(
        at=run.moment, actor=run.actor, conversation_id=OTHER_STORES, records_deleted=0,
        policy=run.policy + f" Deleted besides conversations: {deleted}{len(spool_deleted)} replayed spool file(s).",
    ))


def _log_summary(summary: PurgeSummary, target: stores.TrackerStoreTarget) -> None:
    if summary.tracker_skipped:
        logger.info("archive purge skips the tracker store (%s): %s", target.description, summary.tracker_skipped)
    counted = [store for store in summary.other_stores if store.key in summary.other_counts]
    others = "".join(f", %d {store.log_label}" for store in counted)
    logger.info(
        "archive purge by %s %s %d conversation(s), %d archive record(s), %d tracker store event(s), "
        "%d replayed spool file(s)" + others + "; kept %d old conversation(s)",
        summary.actor,
        "would delete" if summary.dry_run else "deleted",
        len(summary.purged),
        summary.records_deleted,
        summary.tracker_events_deleted,
        len(summary.spool_files),
        *(summary.other_counts[store.key] for store in counted),
        len(summary.kept),
    )


def purge(
    before: date,
    actor: str,
    url: Optional[str] = None,
    now: Optional[datetime] = None,
    *,
    dry_run: bool = False,
    tracker_url: Optional[str] = None,
    spool_dir: Optional[Path] = None,
    others: Sequence[OtherStore] = (),
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
        others: the stores of higher layers to clear in the same transaction
            (:func:`bot.ops.retention.purge` passes them all).

    Returns:
        What was deleted and which old conversations and files were kept, and why.

    Raises:
        PurgeForbidden: ``ARCHIVE_RETENTION_DAYS`` is 0, so the policy forbids any purge.
    """
    settings, retention_days, moment, cutoff = _settings_and_cutoff(before, now)
    archive_url = url or settings.database_url
    target = stores.tracker_store_target(tracker_url or settings.tracker_store_url, archive_url)
    spool_folder = Path(spool_dir) if spool_dir is not None else settings.spool_dir
    others = tuple(others)
    policy = _policy(retention_days, before, moment, cutoff, others)
    tracker_skipped = target.skipped
    with stores.separate_tracker_transaction(target) as tracker_connection, session_scope(archive_url) as session:
        tracker = tracker_connection if tracker_connection is not None else (
            session if target.same_database and not target.skipped else None)
        if tracker is not None and not stores.has_events_table(tracker):
            tracker, tracker_skipped = None, "it has no events table yet (Rasa never saved a conversation there)"
        in_tracker = stores.tracker_conversations(tracker) if tracker is not None else {}
        run = _Run(session, tracker, actor, moment, cutoff, retention_days, policy, dry_run, others)
        _purge_conversations(run, in_tracker)
        counts = {store.key: store.purge_before(session, cutoff, dry_run)
                  for store in others if store.purge_before is not None}
        # Last, so that a failing statement above leaves the files where they are.
        spool_deleted, spool_kept = _purge_spool(run, spool_folder)
        _log_other_stores(run, counts, spool_deleted)
    summary = PurgeSummary(
        before=before, now=moment, retention_days=retention_days, cutoff=cutoff, policy=policy, actor=actor,
        dry_run=dry_run, purged=tuple(run.purged), kept=run.kept, tracker_store=target.description,
        tracker_skipped=tracker_skipped, spool_files=tuple(spool_deleted), spool_kept=spool_kept,
        other_stores=others, other_counts=counts,
    )
    _log_summary(summary, target)
    return summary


__all__ = ["OTHER_STORES", "OtherStore", "PurgeForbidden", "PurgeSummary", "PurgedConversation", "purge"]

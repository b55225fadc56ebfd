"""What the retention purge reports (:mod:`bot.archive.purge`): its summary and the stores beside the archive."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, List, Mapping, Optional, Tuple

from sqlalchemy.orm import Session

from bot.archive.export.common import iso_utc


@dataclass(frozen=True)
class OtherStore:
    """A store beside the archive, in the archive's database, that the purge clears with the same cutoff.

    Higher layers (staff, channels) define these; the archive runs them in its own transaction.

    Attributes:
        key: a short name (``PurgeSummary.other_counts`` key).
        purge_before: ``(session, cutoff, dry_run) -> count``: deletes (or in a dry run counts) what is
            older than the cutoff (None: the store only holds things of conversations).
        forget_conversation: ``(session, conversation_id)``: deletes what the store keeps of a purged
            conversation (None: nothing).
        policy: what ``purge_before`` deletes, as the policy text says it ("staff sessions that ended or
            were last seen").
        log_label: the count's unit in the purge log ("staff session(s)").
        line: the summary line, with ``{verb}`` and ``{count}``.
    """

    key: str
    purge_before: Optional[Callable[[Session, datetime, bool], int]] = None
    forget_conversation: Optional[Callable[[Session, str], None]] = None
    policy: str = ""
    log_label: str = ""
    line: str = ""


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
        other_stores: the other stores purged, in order.
        other_counts: what was deleted of each, ``OtherStore.key`` -> count.
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
    other_stores: Tuple[OtherStore, ...] = ()
    other_counts: Mapping[str, int] = field(default_factory=dict)


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
        lines += [store.line.format(verb=verb, count=self.other_counts.get(store.key, 0))
                  for store in self.other_stores if store.purge_before is not None]
        return lines


__all__ = ["OtherStore", "PurgeSummary", "PurgedConversation"]

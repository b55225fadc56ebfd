"""The retention purge over every store: an operator task (``python -m bot archive purge``).

:func:`bot.archive.purge.purge` deletes old conversations from the archive, Rasa's tracker store
and the spool's replayed files. What higher layers keep in the archive's database is cleared
here, with the same cutoff and in the same transaction (all of it or nothing):

* staff sessions (``staff_sessions``) that ended, or were last seen, before the cutoff;
* Messenger message ids seen (``messenger_seen_messages``) before the cutoff;
* the outbox secret (``conversation_secrets``) of every purged conversation: nothing is left for
  it to unlock.

The archive may not import the staff app or the channels (layering), so these stores are handed
to it as :class:`~bot.archive.purge.OtherStore` s. Only ids, times and counts are read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Optional, Tuple

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.archive.purge import OtherStore, PurgeSummary
from bot.archive.purge import purge as purge_archive
from bot.channels.models import ConversationSecret, MessengerSeenMessage
from bot.staff.models import StaffSession


def purge_staff_sessions(session: Session, cutoff: datetime, dry_run: bool) -> int:
    """Deletes the staff sessions that ended, or were last seen, before ``cutoff``; returns how many."""
    old = or_(StaffSession.ended_at < cutoff, StaffSession.last_seen < cutoff)
    count = session.execute(select(func.count()).select_from(StaffSession).where(old)).scalar_one()
    if count and not dry_run:
        session.execute(delete(StaffSession).where(old))
    return count


def purge_seen_messages(session: Session, cutoff: datetime, dry_run: bool) -> int:
    """Deletes the Messenger message ids seen before ``cutoff``; returns how many."""
    old = MessengerSeenMessage.seen_at < cutoff
    count = session.execute(select(func.count()).select_from(MessengerSeenMessage).where(old)).scalar_one()
    if count and not dry_run:
        session.execute(delete(MessengerSeenMessage).where(old))
    return count


def delete_conversation_secret(session: Session, conversation_id: str) -> None:
    """Deletes the outbox secret of a purged conversation: nothing is left for it to unlock."""
    session.execute(delete(ConversationSecret).where(ConversationSecret.conversation_id == conversation_id))


#: The stores beside the archive, in the order the purge clears them and reports them.
STAFF_SESSIONS = OtherStore(
    key="staff_sessions",
    policy="staff sessions that ended or were last seen",
    log_label="staff session(s)",
    line="staff sessions: {verb} {count} (ended or last seen before the cutoff)",
    purge_before=purge_staff_sessions,
)
SEEN_MESSAGES = OtherStore(
    key="seen_messages",
    policy="Messenger message ids seen",
    log_label="Messenger seen message id(s)",
    line="Messenger seen message ids: {verb} {count} (seen before the cutoff)",
    purge_before=purge_seen_messages,
)
#: Conversation secrets go with their conversation only, never by age.
CONVERSATION_SECRETS = OtherStore(key="conversation_secrets", forget_conversation=delete_conversation_secret)
OTHER_STORES: Tuple[OtherStore, ...] = (STAFF_SESSIONS, SEEN_MESSAGES, CONVERSATION_SECRETS)


@dataclass(frozen=True)
class RetentionSummary(PurgeSummary):
    """:class:`~bot.archive.purge.PurgeSummary` with the counts of the stores cleared here by name."""

    @property
    def staff_sessions(self) -> int:
        """Staff sessions deleted."""
        return self.other_counts.get(STAFF_SESSIONS.key, 0)

    @property
    def seen_messages(self) -> int:
        """Messenger message ids deleted."""
        return self.other_counts.get(SEEN_MESSAGES.key, 0)


def purge(
    before: date,
    actor: str,
    url: Optional[str] = None,
    now: Optional[datetime] = None,
    *,
    dry_run: bool = False,
    tracker_url: Optional[str] = None,
    spool_dir: Optional[Path] = None,
) -> RetentionSummary:
    """Runs the retention purge over the archive and every store beside it, in one transaction.

    Args:
        before, actor, url, now, dry_run, tracker_url, spool_dir: as :func:`bot.archive.purge.purge`.

    Returns:
        What was deleted (also staff sessions and Messenger ids) and what was kept, and why.

    Raises:
        bot.archive.purge.PurgeForbidden: ``ARCHIVE_RETENTION_DAYS`` is 0.
    """
    summary = purge_archive(before, actor, url, now, dry_run=dry_run, tracker_url=tracker_url,
                            spool_dir=spool_dir, others=OTHER_STORES)
    return RetentionSummary(**{name: getattr(summary, name) for name in PurgeSummary.__dataclass_fields__})


__all__ = ["OTHER_STORES", "RetentionSummary", "purge", "purge_seen_messages", "purge_staff_sessions"]

"""Where the trainer studio's edits live: inbox decisions, staff marks and the change log.

Every decision is one row per harvested message (:class:`~bot.training.models.InboxDecision`,
unique on the archive record id) and one row in the change log (who, when, what, before and
after). Deciding a message again replaces the decision; the change log keeps both. A trainer
decides against the version of the decision they saw (0: undecided), so a concurrent decision is
refused with :class:`StaleDecision` instead of being silently overwritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.archive.models import ArchiveRecord, Handoff, Kind
from bot.archive.records import append_record
from bot.core import clock
from bot.nlu.harvest import MISUNDERSTOOD, language_of, masked_text
from bot.storage.base import utc
from bot.storage.db import ensure_schema, session_scope
from bot.training.models import Decision, InboxDecision, TrainingChange

INBOX_DECISION = "inbox_decision"


class TrainingError(Exception):
    """A studio edit was refused. ``code`` names the reason (its words are in the staff locale),
    ``params`` fill them in."""

    def __init__(self, code: str, **params):
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


class StaleDecision(TrainingError):
    """Someone else decided the message since the page was loaded: reload and decide again."""

    def __init__(self, by: str):
        super().__init__("stale", by=by)


@dataclass(frozen=True)
class DecisionView:
    """A stored decision, as the inbox shows it."""

    record_id: int
    decision: str
    intent: Optional[str]
    language: str
    text: str
    decided_by: str
    decided_at: datetime
    version: int


def _state(row: Optional[InboxDecision]) -> Optional[dict]:
    if row is None:
        return None
    return {"decision": row.decision, "intent": row.intent, "language": row.language, "text": row.text,
            "by": row.decided_by, "at": utc(row.decided_at).isoformat(), "version": row.version}


def _view(row: InboxDecision) -> DecisionView:
    return DecisionView(row.record_id, row.decision, row.intent, row.language, row.text, row.decided_by,
                        utc(row.decided_at), row.version)


def _citizen_message(session, record_id: int) -> ArchiveRecord:
    record = session.get(ArchiveRecord, record_id)
    if record is None or record.kind != Kind.CITIZEN_MESSAGE:
        raise TrainingError("no_message", record=record_id)
    return record


def _check(decision: str, intent: Optional[str], intents: Optional[Iterable[str]]) -> Optional[str]:
    if decision not in Decision.ALL:
        raise TrainingError("unknown_decision", decision=decision)
    if decision == Decision.NOT_USEFUL:
        return None
    if not intent or (intents is not None and intent not in set(intents)):
        raise TrainingError("unknown_intent", intent=intent or "")
    return intent


def decide(record_id: int, decision: str, by: str, *, intent: Optional[str] = None, expected_version: int = 0,
           intents: Optional[Iterable[str]] = None, url: Optional[str] = None) -> DecisionView:
    """Stores a trainer's decision about one harvested message, and its change-log entry.

    Args:
        record_id: the citizen message's archive record id.
        decision: ``example``, ``held_out`` or ``not_useful``.
        by: the trainer's user name.
        intent: the intent it means (needed unless ``not_useful``).
        expected_version: the version of the decision the trainer saw (0: none yet).
        intents: the intents one may name (default: any).
        url: the database (default: ``DATABASE_URL``).

    Returns:
        The stored decision.

    Raises:
        TrainingError: the message, decision or intent is unknown.
        StaleDecision: someone decided the message since (their name in ``params["by"]``).
    """
    intent = _check(decision, intent, intents)
    ensure_schema(url)
    try:
        with session_scope(url) as session:
            return _write(session, record_id, decision, intent, by, expected_version)
    except IntegrityError:  # a concurrent first decision of the same message won the insert
        with session_scope(url) as session:
            row = session.execute(select(InboxDecision).where(InboxDecision.record_id == record_id)).scalar_one()
            raise StaleDecision(row.decided_by)


def _write(session, record_id: int, decision: str, intent: Optional[str], by: str,
           expected_version: int) -> DecisionView:
    """The decision's row (inserted, or updated only if still at ``expected_version``) and its log."""
    record = _citizen_message(session, record_id)
    row = session.execute(select(InboxDecision).where(InboxDecision.record_id == record_id)).scalar_one_or_none()
    before = _state(row)
    if row is not None and row.version != expected_version:
        raise StaleDecision(row.decided_by)
    values = {"decision": decision, "intent": intent, "language": language_of(record),
              "text": masked_text(record), "decided_by": by, "decided_at": clock.now()}
    if row is None:
        row = InboxDecision(record_id=record_id, version=1, **values)
        session.add(row)
        session.flush()
    else:
        done = session.execute(
            update(InboxDecision).where(InboxDecision.record_id == record_id,
                                        InboxDecision.version == expected_version)
            .values(version=expected_version + 1, **values).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            current = session.execute(select(InboxDecision.decided_by)
                                      .where(InboxDecision.record_id == record_id)).scalar_one()
            raise StaleDecision(current)
        session.expire(row)
    session.add(TrainingChange(at=values["decided_at"], user=by, what=INBOX_DECISION, target=f"record:{record_id}",
                               before=before, after=_state(row)))
    return _view(row)


def decisions(url: Optional[str] = None) -> Dict[int, DecisionView]:
    """Every inbox decision, by archive record id."""
    ensure_schema(url)
    with session_scope(url) as session:
        return {r.record_id: _view(r) for r in session.execute(select(InboxDecision)).scalars()}


def changes(target: Optional[str] = None, url: Optional[str] = None) -> List[TrainingChange]:
    """The change log, oldest first (optionally of one target, e.g. ``record:12``)."""
    ensure_schema(url)
    query = select(TrainingChange).order_by(TrainingChange.id)
    if target is not None:
        query = query.where(TrainingChange.target == target)
    with session_scope(url) as session:
        rows = session.execute(query).scalars().all()
        session.expunge_all()
        return rows


def decided_examples(url: Optional[str] = None) -> List[Tuple[str, str, str, bool]]:
    """The decided messages for training: (language, intent, text, held_out), ``not_useful`` left out.

    Args:
        url: the database (default: ``DATABASE_URL``).

    Returns:
        One tuple per decided message, by language, intent and text.
    """
    ensure_schema(url)
    with session_scope(url) as session:
        rows = session.execute(select(InboxDecision).where(
            InboxDecision.decision.in_((Decision.EXAMPLE, Decision.HELD_OUT)))).scalars().all()
        found = [(r.language, r.intent, r.text, r.decision == Decision.HELD_OUT) for r in rows]
    return sorted(found)


def mark_misunderstood(handoff_id: int, record_id: int, by: str, note: str, url: Optional[str] = None) -> str:
    """Marks a citizen message of a handoff's conversation as misunderstood by the bot.

    The mark is a staff note in the conversation's archive whose data names the message
    (``misunderstood_record_id``): ``nlu harvest`` and the inbox read it as "marked by staff".

    Args:
        handoff_id: the handoff whose conversation the message is in.
        record_id: the citizen message's archive record id.
        by: the staff user's name.
        note: the note's text (staff wording, shown in the transcript).
        url: the database (default: ``DATABASE_URL``).

    Returns:
        The conversation id (for the audit log).

    Raises:
        TrainingError: the handoff or message is unknown, or not of the same conversation.
    """
    ensure_schema(url)
    with session_scope(url) as session:
        handoff = session.get(Handoff, handoff_id)
        record = _citizen_message(session, record_id)
        if handoff is None or handoff.conversation_id != record.conversation_id:
            raise TrainingError("no_message", record=record_id)
        append_record(session, record.conversation_id, Kind.STAFF_NOTE, clock.now(), channel="staff",
                      sender_id=by, text=note, language=record.language,
                      data={"handoff_id": handoff_id, MISUNDERSTOOD: record_id})
        return record.conversation_id

"""The handoff queue: what staff must answer, and the state of each handoff.

A handoff moves open → claimed → answered → closed. Its state is its latest
:class:`~bot.archive.models.HandoffEvent`; every change is also an archive record, so the
public record shows who took over a conversation, what they wrote and when.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import clock
from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import Handoff, HandoffEvent, OutboxMessage
from bot.storage.base import utc
from bot.archive.records import append_record
from bot.handoff import rasa_api
from bot.handoff.due import due_time
from bot.handoff.reply_checks import reply_refusal
from bot.core.reasons import URGENT_REASONS
from bot.municipality import Municipality, load_municipality
from bot.core.responses import response_text

OPEN, CLAIMED, ANSWERED, CLOSED = "open", "claimed", "answered", "closed"
STATUSES = (OPEN, CLAIMED, ANSWERED, CLOSED)
# Which states each change may start from.
ALLOWED_FROM = {CLAIMED: {OPEN}, ANSWERED: {CLAIMED, ANSWERED}, CLOSED: {OPEN, CLAIMED, ANSWERED}}
NEAR_DEADLINE = timedelta(hours=4)


class HandoffError(ValueError):
    """A handoff command that cannot be carried out (unknown id, wrong state, Rasa down).

    The message is English for the command line; ``code`` and ``params`` let the staff app say
    the same in its own language.
    """

    def __init__(self, message: str, code: str = "other", **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class HandoffView:
    """A handoff as staff see it."""

    id: int
    conversation_id: str
    reason: str
    language: Optional[str]
    channel: Optional[str]
    status: str
    created_at: str
    due_at: str
    deadline: str  # met, ok, near, missed
    claimed_by: Optional[str]

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def status_of(session: Session, handoff_id: int) -> str:
    """Returns a handoff's current state (its latest event)."""
    return session.execute(
        select(HandoffEvent.status)
        .where(HandoffEvent.handoff_id == handoff_id, HandoffEvent.status.in_(STATUSES))
        .order_by(HandoffEvent.id.desc())
        .limit(1)
    ).scalar_one()


def unclosed_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    """Returns the conversation's handoff that is not closed yet, if any."""
    for handoff in session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc())
    ).scalars():
        if status_of(session, handoff.id) != CLOSED:
            return handoff
    return None


def open_handoff(
    session: Session,
    *,
    conversation_id: str,
    reason: str,
    language: Optional[str],
    channel: Optional[str],
    created_at: datetime,
    record_id: Optional[int],
    municipality: Municipality,
    due_hours: int,
) -> Optional[Handoff]:
    """Queues a conversation for staff, unless it already waits for them.

    Returns:
        The new handoff, or None when the conversation already has one that is not closed
        (its later reasons are archived as records, so nothing is lost). A crisis turns the
        waiting handoff into a crisis handoff.
    """
    waiting = unclosed_handoff(session, conversation_id)
    if waiting is not None:
        if reason in URGENT_REASONS and waiting.reason not in URGENT_REASONS:
            # A crisis in a conversation that already waits for staff (or that staff have taken
            # over) must not hide under the earlier reason: the handoff moves to the top.
            waiting.reason = reason
        return None
    handoff = Handoff(
        conversation_id=conversation_id,
        reason=reason,
        language=language,
        channel=channel,
        created_at=created_at,
        due_at=due_time(municipality, created_at, due_hours),
        record_id=record_id,
    )
    session.add(handoff)
    session.flush()
    session.add(HandoffEvent(handoff_id=handoff.id, status=OPEN, actor="bot", at=created_at))
    return handoff


def _deadline(status: str, due_at: datetime, answered_at: Optional[datetime], now: datetime) -> str:
    if answered_at is not None:
        return "met" if answered_at <= due_at else "missed"
    if status == CLOSED:
        return "met"
    if now > due_at:
        return "missed"
    return "near" if due_at - now <= NEAR_DEADLINE else "ok"


def _view(session: Session, handoff: Handoff, now: datetime) -> HandoffView:
    events = session.execute(
        select(HandoffEvent).where(HandoffEvent.handoff_id == handoff.id).order_by(HandoffEvent.id)
    ).scalars().all()
    status = [e.status for e in events if e.status in STATUSES][-1]
    answered = next((utc(e.at) for e in events if e.status == ANSWERED), None)
    claimed_by = next((e.actor for e in reversed(events) if e.status == CLAIMED), None)
    return HandoffView(
        id=handoff.id,
        conversation_id=handoff.conversation_id,
        reason=handoff.reason,
        language=handoff.language,
        channel=handoff.channel,
        status=status,
        created_at=utc(handoff.created_at).isoformat(),
        due_at=utc(handoff.due_at).isoformat(),
        deadline=_deadline(status, utc(handoff.due_at), answered, now),
        claimed_by=claimed_by if status in (CLAIMED, ANSWERED) else None,
    )


def list_handoffs(status: Optional[str] = None, url: Optional[str] = None) -> List[HandoffView]:
    """Returns handoffs with crises first, then by due time, optionally only those in one state."""
    if status is not None and status not in STATUSES:
        raise HandoffError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}", "unknown_status",
                           status=status)
    ensure_schema(url)
    now = clock.now()
    with session_scope(url) as session:
        handoffs = session.execute(select(Handoff).order_by(Handoff.due_at, Handoff.id)).scalars().all()
        # Crises first (a stable sort keeps the due-time order within each group).
        handoffs = sorted(handoffs, key=lambda h: h.reason not in URGENT_REASONS)
        views = [_view(session, h, now) for h in handoffs]
    return [v for v in views if status is None or v.status == status]


def _get(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffError(f"there is no handoff {handoff_id}", "not_found", id=handoff_id)
    return handoff


def show_handoff(handoff_id: int, url: Optional[str] = None) -> Dict[str, Any]:
    """Returns a handoff with its history and the conversation's transcript, personal data masked."""
    from bot.privacy import mask_for_staff as mask

    ensure_schema(url)
    with session_scope(url) as session:
        handoff = _get(session, handoff_id)
        view = _view(session, handoff, clock.now()).as_dict()
        view["events"] = [
            {"status": e.status, "actor": e.actor, "at": utc(e.at).isoformat(), "detail": e.detail}
            for e in session.execute(
                select(HandoffEvent).where(HandoffEvent.handoff_id == handoff_id).order_by(HandoffEvent.id)
            ).scalars()
        ]
        view["transcript"] = [
            {
                "id": r.id, "seq": r.seq, "at": utc(r.occurred_at).isoformat(), "kind": r.kind, "sender": r.sender_id,
                "text": mask(r.text) if r.text else r.text, "personal_data": r.personal_data or [],
                "safety": _safety_category(r),
            }
            for r in session.execute(
                select(ArchiveRecord)
                .where(ArchiveRecord.conversation_id == handoff.conversation_id)
                .order_by(ArchiveRecord.seq)
            ).scalars()
        ]
    return view


def _safety_category(record: ArchiveRecord) -> Optional[str]:
    """``emergency`` or ``crisis`` for a citizen message the safety layer answered, else None."""
    if record.kind != Kind.CITIZEN_MESSAGE:
        return None
    return {"emergency": "emergency", "crisis_support": "crisis"}.get(record.intent or "")


def _change(
    handoff_id: int,
    to: str,
    by: str,
    url: Optional[str],
    citizen_text: Optional[Callable[[Handoff], str]] = None,
    detail: Optional[str] = None,
) -> HandoffView:
    """Records a state change (and optionally a message to the citizen) in one transaction."""
    by = (by or "").strip()
    if not by:
        raise HandoffError("say who you are (--by NAME)", "no_actor")
    now = clock.now()
    with session_scope(url) as session:
        handoff = _get(session, handoff_id)
        current = status_of(session, handoff_id)
        if current not in ALLOWED_FROM[to]:
            raise HandoffError(f"handoff {handoff_id} is {current}; it cannot become {to}", "wrong_state",
                               id=handoff_id, current=current, to=to)
        session.add(HandoffEvent(handoff_id=handoff_id, status=to, actor=by, at=now, detail=detail))
        append_record(
            session, handoff.conversation_id, Kind.HANDOFF_EVENT, now, channel="staff", sender_id=by,
            text=to, language=handoff.language,
            data={"handoff_id": handoff_id, "status": to, "from": current, "reason": handoff.reason},
        )
        if citizen_text is not None:
            text = citizen_text(handoff)
            record = append_record(
                session, handoff.conversation_id, Kind.STAFF_MESSAGE, now, channel=handoff.channel,
                sender_id=by, text=text, language=handoff.language, data={"handoff_id": handoff_id},
            )
            session.add(OutboxMessage(
                conversation_id=handoff.conversation_id, channel=handoff.channel,
                recipient_id=handoff.conversation_id, text=text, author=by, created_at=now,
                handoff_id=handoff_id, record_id=record.id,
            ))
        return _view(session, handoff, now)


def _precheck(handoff_id: int, to: str, url: Optional[str]) -> Tuple[Handoff, str]:
    """Checks the change is allowed before anything outside the database is touched."""
    ensure_schema(url)
    with session_scope(url) as session:
        handoff = _get(session, handoff_id)
        current = status_of(session, handoff_id)
        if current not in ALLOWED_FROM[to]:
            raise HandoffError(f"handoff {handoff_id} is {current}; it cannot become {to}", "wrong_state",
                               id=handoff_id, current=current, to=to)
        session.expunge(handoff)
        return handoff, current


def _standard_text(name: str) -> Callable[[Handoff], str]:
    def word(handoff: Handoff) -> str:
        municipality = load_municipality()
        language = handoff.language if handoff.language in municipality.languages else municipality.default_language
        return response_text(name, {"language": language})

    return word


def claim(handoff_id: int, by: str, url: Optional[str] = None) -> HandoffView:
    """A staff member takes over: the bot falls silent and the citizen is told a person is here."""
    handoff, _ = _precheck(handoff_id, CLAIMED, url)
    try:
        rasa_api.pause(handoff.conversation_id)
    except rasa_api.RasaUnavailable as error:
        raise HandoffError(f"{error}; the handoff is unchanged", "rasa_unavailable") from error
    return _change(handoff_id, CLAIMED, by, url, citizen_text=_standard_text("utter_staff_took_over"))


def reply(handoff_id: int, by: str, text: str, url: Optional[str] = None) -> HandoffView:
    """Sends a staff reply to the citizen through the channel they used (via the outbox).

    The channel may refuse it first (:mod:`bot.handoff.reply_checks`); then nothing is recorded.
    """
    text = (text or "").strip()
    if not text:
        raise HandoffError("the reply is empty", "reply_empty")
    handoff, _ = _precheck(handoff_id, ANSWERED, url)
    # The channel's own limit (e.g. Messenger's 7 days), registered by the channel's module.
    refusal = reply_refusal(handoff.channel, handoff.conversation_id, url)
    if refusal is not None:
        raise HandoffError(refusal.message, refusal.code)
    return _change(handoff_id, ANSWERED, by, url, citizen_text=lambda _handoff: text)


def close(handoff_id: int, by: str, url: Optional[str] = None) -> HandoffView:
    """Ends the handoff: the bot answers again (and says so, if a person had taken over)."""
    handoff, current = _precheck(handoff_id, CLOSED, url)
    try:
        rasa_api.resume(handoff.conversation_id)
    except rasa_api.RasaUnavailable as error:
        raise HandoffError(f"{error}; the handoff is unchanged", "rasa_unavailable") from error
    taken_over = current in (CLAIMED, ANSWERED)
    return _change(
        handoff_id, CLOSED, by, url, citizen_text=_standard_text("utter_staff_left") if taken_over else None
    )

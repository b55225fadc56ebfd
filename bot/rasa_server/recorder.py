"""Turns Rasa's tracker events into archive records and handoffs.

The event broker hands every event of every conversation to :meth:`ArchiveRecorder.record`.
What a citizen wrote, what the bot answered, why a turn went to staff and when the bot was paused
or resumed become append-only records; everything else (action bookkeeping, featurisation) is
Rasa's business and stays in the tracker store. Writing is idempotent: an event already archived
(same key) is skipped, so the spool can be replayed safely.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.records import append_record, exists, key_for
from bot.core.config import get_settings
from bot.handoff.limit import CLIENT_KEY
from bot.handoff.queue import open_handoff
from bot.municipality import load_municipality

logger = logging.getLogger(__name__)

# Events that are part of the public record, and what they become.
STATE_CHANGES = {"pause": "paused", "resume": "resumed", "session_started": "session_started", "restart": "restarted"}
BOT_DATA_KEYS = ("buttons", "quick_replies", "elements", "attachment", "image", "custom")
MAX_REMEMBERED_CLIENT_KEYS = 10_000
FEEDBACK_INTENTS = {"feedback_helpful": True, "feedback_not_helpful": False}


def event_key(event: Mapping[str, Any]) -> str:
    """Returns the key that identifies one Rasa event of one conversation."""
    return key_for(
        event.get("sender_id"), event.get("event"), event.get("timestamp"), event.get("text"),
        event.get("name"), event.get("value"), event.get("message_id"),
    )


def is_archived_event(event: Mapping[str, Any]) -> bool:
    """Returns whether an event becomes an archive record (or a handoff)."""
    kind = event.get("event")
    return (
        kind in ("user", "bot")
        or kind in STATE_CHANGES
        or (kind == "slot" and event.get("name") in ("handoff_reason", "language") and event.get("value"))
    )


def _moment(event: Mapping[str, Any]) -> datetime:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, (int, float)):
        return datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return datetime.now(timezone.utc)


def _message_language(parse_data: Mapping[str, Any]) -> Optional[str]:
    for entity in parse_data.get("entities") or []:
        if entity.get("entity") == "language":
            return entity.get("value")
    return None


def _latest_seq(session: Session, conversation_id: str) -> Optional[int]:
    return session.execute(
        select(func.max(ArchiveRecord.seq)).where(ArchiveRecord.conversation_id == conversation_id)
    ).scalar()


class ArchiveRecorder:
    """Writes Rasa events to the archive database."""

    def __init__(self, url: Optional[str] = None) -> None:
        self.url = url
        # The conversation's language and channel, remembered between events of a turn.
        self._context: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
        # The keyed client address of each conversation's latest message (bot.channels.limits),
        # kept for the handoff that turn may open and never written to the archive records.
        self._client_keys: "OrderedDict[str, str]" = OrderedDict()
        # The conversation's last sequence number after this process's last write to it.
        self._last_seq: Dict[str, Optional[int]] = {}

    def record(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Archives the events in one transaction.

        Args:
            events: Rasa event dicts, each with ``sender_id``.

        Returns:
            The number of new archive records.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database cannot be written (the caller spools).
        """
        events = [e for e in events if is_archived_event(e)]
        if not events:
            return 0
        ensure_schema(self.url)
        for attempt in range(5):
            try:
                with session_scope(self.url) as session:
                    return sum(self._record_one(session, event) for event in events)
            except IntegrityError:
                # Another writer took the same sequence number; the transaction is retried whole.
                if attempt == 4:
                    raise
                logger.info("Archive write collided with another writer; retrying")
        return 0

    def _conversation(self, session: Session, conversation_id: str) -> Tuple[Optional[str], Optional[str]]:
        if conversation_id not in self._context:
            last_citizen = session.execute(
                select(ArchiveRecord.language, ArchiveRecord.channel)
                .where(ArchiveRecord.conversation_id == conversation_id, ArchiveRecord.kind == Kind.CITIZEN_MESSAGE)
                .order_by(ArchiveRecord.seq.desc())
                .limit(1)
            ).first()
            # A citizen record holds the language detected in that message; the others hold the
            # conversation's language (the slot) at their time, which is what the next turn continues in.
            conversation_language = session.execute(
                select(ArchiveRecord.language)
                .where(ArchiveRecord.conversation_id == conversation_id, ArchiveRecord.kind != Kind.CITIZEN_MESSAGE,
                       ArchiveRecord.language.is_not(None))
                .order_by(ArchiveRecord.seq.desc())
                .limit(1)
            ).scalar()
            language = conversation_language or (last_citizen[0] if last_citizen else None)
            self._context[conversation_id] = (language, last_citizen[1] if last_citizen else None)
        return self._context[conversation_id]

    def _record_one(self, session: Session, event: Mapping[str, Any]) -> int:
        from bot.privacy import kinds

        conversation_id = str(event.get("sender_id") or "")
        kind = event.get("event")
        if (kind == "user" and conversation_id in self._context
                and _latest_seq(session, conversation_id) != self._last_seq.get(conversation_id)):
            # Another Rasa server has handled the conversation since this process last wrote to
            # it: what this process remembers may be stale, so it is read anew from the archive.
            del self._context[conversation_id]
        language, channel = self._conversation(session, conversation_id)
        if kind == "slot" and event.get("name") == "language":
            self._context[conversation_id] = (event.get("value"), channel)
            return 0
        key = event_key(event)
        if exists(session, key):
            return 0
        moment = _moment(event)
        if kind == "user":
            parse_data = event.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            channel = event.get("input_channel") or channel
            text = event.get("text")
            self._context[conversation_id] = (language, channel)
            metadata = dict(event.get("metadata") or {})
            self._remember_client_key(conversation_id, metadata.pop(CLIENT_KEY, None))
            citizen = append_record(
                session, conversation_id, Kind.CITIZEN_MESSAGE, moment, key,
                channel=channel, sender_id=conversation_id, text=text,
                language=_message_language(parse_data) or language,
                intent=intent.get("name"), confidence=intent.get("confidence"),
                data={"message_id": event.get("message_id"), "metadata": metadata,
                      # which signal of the safety layer fired (bot/safety/), for staff and trainers
                      **({"safety": parse_data["safety"]} if parse_data.get("safety") else {})},
                personal_data=kinds(text) if isinstance(text, str) else [],
            )
            if intent.get("name") in FEEDBACK_INTENTS:
                self._feedback(session, citizen, FEEDBACK_INTENTS[intent["name"]], moment, key)
        elif kind == "bot":
            data = event.get("data") or {}
            append_record(
                session, conversation_id, Kind.BOT_MESSAGE, moment, key,
                channel=channel, sender_id="bot", text=event.get("text"), language=language,
                data={
                    **{k: data[k] for k in BOT_DATA_KEYS if data.get(k)},
                    "response": (event.get("metadata") or {}).get("utter_action"),
                },
            )
        elif kind in STATE_CHANGES:
            append_record(
                session, conversation_id, Kind.STATE_CHANGE, moment, key,
                channel=channel, sender_id="rasa", text=STATE_CHANGES[kind], language=language,
            )
        elif kind == "slot":  # handoff_reason
            self._queue(session, conversation_id, str(event.get("value")), language, channel, moment, key)
        self._last_seq[conversation_id] = _latest_seq(session, conversation_id)
        return 1

    def _remember_client_key(self, conversation_id: str, key: Any) -> None:
        self._client_keys.pop(conversation_id, None)
        if isinstance(key, str) and key:
            self._client_keys[conversation_id] = key[:64]
            while len(self._client_keys) > MAX_REMEMBERED_CLIENT_KEYS:
                self._client_keys.popitem(last=False)

    def _feedback(self, session: Session, citizen: ArchiveRecord, helpful: bool, moment: datetime, key: str) -> None:
        """Archives a thumbs up or down with the answer it refers to (the latest website answer)."""
        answers = session.execute(
            select(ArchiveRecord)
            .where(ArchiveRecord.conversation_id == citizen.conversation_id, ArchiveRecord.kind == Kind.BOT_MESSAGE)
            .order_by(ArchiveRecord.seq.desc())
            .limit(20)
        ).scalars()
        answer = next((r for r in answers if (r.data or {}).get("response") == "utter_website_answer"), None)
        append_record(
            session, citizen.conversation_id, Kind.FEEDBACK, moment, key_for(key, "feedback"),
            channel=citizen.channel, sender_id=citizen.sender_id, language=citizen.language,
            text="helpful" if helpful else "not helpful",
            data={"helpful": helpful, "answer_record_id": answer.id if answer else None,
                  "answer_text": answer.text if answer else None},
        )

    def _queue(
        self, session: Session, conversation_id: str, reason: str, language: Optional[str],
        channel: Optional[str], moment: datetime, key: str,
    ) -> None:
        settings = get_settings()
        # A fixed clock (BOT_CLOCK, tests and demonstrations) is the time the assistant told the
        # citizen about, so due times follow it; otherwise the event's own time, also on replay.
        created_at = settings.clock or moment
        citizen_record = session.execute(
            select(ArchiveRecord.id)
            .where(ArchiveRecord.conversation_id == conversation_id, ArchiveRecord.kind == Kind.CITIZEN_MESSAGE)
            .order_by(ArchiveRecord.seq.desc())
            .limit(1)
        ).scalar()
        handoff = open_handoff(
            session, conversation_id=conversation_id, reason=reason, language=language, channel=channel,
            created_at=created_at, record_id=citizen_record, municipality=load_municipality(),
            due_hours=settings.handoff_due_hours,
        )
        if handoff is not None:
            handoff.client_key = self._client_keys.get(conversation_id)
        append_record(
            session, conversation_id, Kind.HANDOFF_EVENT, moment, key,
            channel=channel, sender_id="bot", text="open" if handoff else "reason_added", language=language,
            data={
                "reason": reason,
                "handoff_id": handoff.id if handoff else None,
                "due_at": handoff.due_at.isoformat() if handoff else None,
            },
        )

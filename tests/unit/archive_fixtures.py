"""Realistic archive rows for the export, verify and purge tests.

Conversations as the assistant stores them: Rasa sender ids per channel, records numbered per
conversation, handoffs with their event trail, staff answers through the outbox.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy.orm import Session

from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import Handoff, HandoffEvent, OutboxDelivery, OutboxMessage

UTC = timezone.utc

#: A fødselsnummer with valid check digits (synthetic test number).
NATIONAL_ID = "15076500565"


def at(text: str) -> datetime:
    """``"2026-03-02 08:15:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Builder:
    """Adds rows the way the assistant writes them (seq per conversation, event keys)."""

    session: Session
    seqs: Dict[str, int] = field(default_factory=dict)

    def record(
        self,
        conversation_id: str,
        kind: str,
        occurred_at: datetime,
        text: Optional[str],
        *,
        sender: Optional[str],
        channel: str,
        language: Optional[str],
        intent: Optional[str] = None,
        confidence: Optional[float] = None,
        data: Optional[Dict[str, Any]] = None,
        personal_data: Optional[List[str]] = None,
        corrects: Optional[ArchiveRecord] = None,
    ) -> ArchiveRecord:
        seq = self.seqs.get(conversation_id, 0) + 1
        self.seqs[conversation_id] = seq
        record = ArchiveRecord(
            event_key=hashlib.sha256(f"{conversation_id}/{seq}/{kind}".encode()).hexdigest(),
            conversation_id=conversation_id,
            seq=seq,
            kind=kind,
            channel=channel,
            sender_id=sender,
            occurred_at=occurred_at,
            recorded_at=occurred_at + timedelta(milliseconds=120),
            text=text,
            language=language,
            intent=intent,
            confidence=confidence,
            data=data,
            personal_data=personal_data,
            corrects_id=corrects.id if corrects is not None else None,
        )
        self.session.add(record)
        self.session.flush()
        return record

    def handoff(
        self,
        conversation_id: str,
        reason: str,
        created_at: datetime,
        events: Sequence[Tuple[str, Optional[str], datetime, Optional[str]]],
        *,
        channel: str,
        language: str,
        record: Optional[ArchiveRecord] = None,
    ) -> Handoff:
        handoff = Handoff(
            conversation_id=conversation_id,
            reason=reason,
            language=language,
            channel=channel,
            created_at=created_at,
            due_at=created_at + timedelta(hours=24),
            record_id=record.id if record is not None else None,
        )
        self.session.add(handoff)
        self.session.flush()
        for status, actor, moment, detail in events:
            self.session.add(HandoffEvent(handoff_id=handoff.id, status=status, actor=actor, at=moment, detail=detail))
        self.session.flush()
        return handoff

    def outbox(
        self,
        conversation_id: str,
        text: str,
        author: str,
        created_at: datetime,
        *,
        channel: str,
        handoff: Optional[Handoff] = None,
        record: Optional[ArchiveRecord] = None,
        delivered_at: Optional[datetime] = None,
        delivered: bool = True,
    ) -> OutboxMessage:
        message = OutboxMessage(
            conversation_id=conversation_id,
            channel=channel,
            recipient_id=conversation_id,
            text=text,
            author=author,
            created_at=created_at,
            handoff_id=handoff.id if handoff is not None else None,
            record_id=record.id if record is not None else None,
        )
        self.session.add(message)
        self.session.flush()
        if delivered_at is not None:
            self.session.add(OutboxDelivery(outbox_id=message.id, delivered=delivered, at=delivered_at, detail=None))
            self.session.flush()
        return message


# ------------------------------------------------------------------------------------------
# The export data set: March 2026 in Saltvika
# ------------------------------------------------------------------------------------------

NN = "nn-rest-7f3a"  # Nynorsk, handoff to staff, national id number
NB = "nb-widget-19c2"  # Bokmål, state changes with a correction, feedback
SV = "sv-messenger-5521"  # Swedish, last record of March and first of April
SPAN = "nn-rest-span"  # starts on 28 February, continues on 1 March
OLD = "nn-rest-old"  # only February
APRIL = "nb-rest-april"  # only April

NN_BOT_TEXT = "Servicetorget er ope i dag 08:00–15:30.\nVelkomen innom!"
NN_PERSONAL_TEXT = (
    "Eg vil snakke med ein sakshandsamar om byggjesøknaden min. "
    f"Fødselsnummeret mitt er {NATIONAL_ID}."
)
NN_STAFF_TEXT = "Hei! Eg har sett på byggjesøknaden din. Du får svar innan fredag. – Kari, byggesak"


def populate_export(session: Session) -> Dict[str, Any]:
    """Six conversations around March 2026; four of them have a record in March."""
    b = Builder(session)

    # A conversation from 28 February 23:50 to 1 March 00:00: in March's export, whole.
    b.record(SPAN, Kind.CITIZEN_MESSAGE, at("2026-02-28 23:50:00"), "Er biblioteket ope i morgon?",
             sender=SPAN, channel="rest", language="nn", intent="opening_hours", confidence=0.88)
    b.record(SPAN, Kind.BOT_MESSAGE, at("2026-03-01 00:00:00"), "Biblioteket er stengt søndag.",
             sender="bot", channel="rest", language="nn")

    # Nynorsk: a question, then a personal case handed to staff and answered (as bot.handoff.queue
    # writes it: a HandoffEvent row and a handoff_event record per change, the staff message also
    # in the outbox).
    b.record(NN, Kind.STATE_CHANGE, at("2026-03-02 08:14:59"), "session_started", sender="rasa", channel="rest",
             language="nn")
    b.record(NN, Kind.CITIZEN_MESSAGE, at("2026-03-02 08:15:00"), "Kor lenge er rådhuset ope i dag?",
             sender=NN, channel="rest", language="nn", intent="opening_hours", confidence=0.97,
             data={"message_id": "m-1001", "metadata": {}})
    b.record(NN, Kind.BOT_MESSAGE, at("2026-03-02 08:15:01"), NN_BOT_TEXT,
             sender="bot", channel="rest", language="nn",
             data={"buttons": [{"title": "Kontakt oss", "payload": "/contact"}], "response": "utter_opening_hours"})
    personal = b.record(NN, Kind.CITIZEN_MESSAGE, at("2026-03-02 08:16:30"), NN_PERSONAL_TEXT,
                        sender=NN, channel="rest", language="nn", intent="personal_case", confidence=0.91,
                        personal_data=["national_id"])
    b.record(NN, Kind.BOT_MESSAGE, at("2026-03-02 08:16:31"), "Eg sender deg vidare til ein sakshandsamar.",
             sender="bot", channel="rest", language="nn")
    handoff = b.handoff(
        NN,
        "personal_case",
        at("2026-03-02 08:16:31.500000"),
        [
            ("open", None, at("2026-03-02 08:16:31.500000"), None),
            ("claimed", "kari.nordmann", at("2026-03-02 08:20:00"), None),
            ("answered", "kari.nordmann", at("2026-03-02 08:25:00"), None),
            ("closed", "kari.nordmann", at("2026-03-02 08:31:00"), "Sak 2026/123 oppretta"),
        ],
        channel="rest",
        language="nn",
        record=personal,
    )
    b.record(NN, Kind.HANDOFF_EVENT, at("2026-03-02 08:16:31.500000"), "open", sender="bot", channel="rest",
             language="nn", data={"reason": "personal_case", "handoff_id": handoff.id,
                                  "due_at": "2026-03-03T08:16:31.500000+00:00"})
    b.record(NN, Kind.HANDOFF_EVENT, at("2026-03-02 08:20:00"), "claimed", sender="kari.nordmann", channel="staff",
             language="nn", data={"handoff_id": handoff.id, "status": "claimed", "from": "open",
                                  "reason": "personal_case"})
    b.record(NN, Kind.HANDOFF_EVENT, at("2026-03-02 08:25:00"), "answered", sender="kari.nordmann",
             channel="staff", language="nn", data={"handoff_id": handoff.id, "status": "answered",
                                                   "from": "claimed", "reason": "personal_case"})
    staff = b.record(NN, Kind.STAFF_MESSAGE, at("2026-03-02 08:25:00"), NN_STAFF_TEXT,
                     sender="kari.nordmann", channel="rest", language="nn", data={"handoff_id": handoff.id})
    b.record(NN, Kind.STAFF_NOTE, at("2026-03-02 08:30:00"), "Ringde innbyggjaren. Sak 2026/123 er oppretta.",
             sender="kari.nordmann", channel="staff", language="nn")
    b.record(NN, Kind.HANDOFF_EVENT, at("2026-03-02 08:31:00"), "closed", sender="kari.nordmann", channel="staff",
             language="nn", data={"handoff_id": handoff.id, "status": "closed", "from": "answered",
                                  "reason": "personal_case"})
    b.outbox(NN, NN_STAFF_TEXT, "kari.nordmann", at("2026-03-02 08:25:00"), channel="rest", handoff=handoff,
             record=staff, delivered_at=at("2026-03-02 08:25:02"))

    # Bokmål: waste collection; the citizen's feedback is corrected by a second one.
    b.record(NB, Kind.CITIZEN_MESSAGE, at("2026-03-15 10:00:00"), "Når er det tømming av restavfall i Storgata?",
             sender=NB, channel="widget", language="nb", intent="waste_collection", confidence=0.93)
    b.record(NB, Kind.BOT_MESSAGE, at("2026-03-15 10:00:01"), "Restavfall i Storgata tømmes annenhver tirsdag.",
             sender="bot", channel="widget", language="nb")
    first = b.record(NB, Kind.FEEDBACK, at("2026-03-15 10:01:00"), "Det hjalp ikke", sender=NB, channel="widget",
                     language="nb", data={"rating": "down"})
    b.record(NB, Kind.FEEDBACK, at("2026-03-15 10:01:05"), "Beklager, feil knapp. Takk, det hjalp!", sender=NB,
             channel="widget", language="nb", data={"rating": "up"}, corrects=first)
    b.record(NB, Kind.STATE_CHANGE, at("2026-03-15 10:05:00"), "restarted", sender="rasa", channel="widget",
             language="nb")

    # Swedish: the last half second of March and the first of April.
    b.record(SV, Kind.CITIZEN_MESSAGE, at("2026-03-31 23:59:59.500000"), "Hej! Var hittar jag sophämtningsschemat?",
             sender=SV, channel="messenger", language="sv", intent="waste_collection", confidence=0.84)
    b.record(SV, Kind.BOT_MESSAGE, at("2026-04-01 00:00:00.200000"), "Schemat finns på kommunens webbplats.",
             sender="bot", channel="messenger", language="sv")

    # Outside March.
    b.record(OLD, Kind.CITIZEN_MESSAGE, at("2026-02-28 23:59:59.999000"), "Hei?", sender=OLD, channel="rest",
             language="nn")
    b.record(APRIL, Kind.CITIZEN_MESSAGE, at("2026-04-01 00:00:00"), "Hei!", sender=APRIL, channel="rest",
             language="nb")
    return {"handoff_id": handoff.id, "personal_record_id": personal.id, "corrected_record_id": first.id}


# ------------------------------------------------------------------------------------------
# The purge data set
# ------------------------------------------------------------------------------------------

OLD_CLOSED = "old-closed"  # January, handoff closed in January, answer delivered
OLD_PLAIN = "old-plain"  # January, no handoff
OLD_OPEN = "old-open"  # January, handoff still claimed (not closed)
LATE_CLOSE = "late-close"  # February records, handoff closed in March
RECENT = "recent"  # May


def populate_purge(session: Session) -> None:
    b = Builder(session)
    question = b.record(OLD_CLOSED, Kind.CITIZEN_MESSAGE, at("2026-01-10 09:00:00"),
                        f"Mitt fødselsnummer er {NATIONAL_ID}, kan de sjekke saken min?", sender=OLD_CLOSED,
                        channel="rest", language="nb", intent="personal_case", personal_data=["national_id"])
    b.record(OLD_CLOSED, Kind.BOT_MESSAGE, at("2026-01-10 09:00:01"), "Jeg sender deg videre til en saksbehandler.",
             sender="bot", channel="rest", language="nb")
    answer = b.record(OLD_CLOSED, Kind.STAFF_MESSAGE, at("2026-01-10 10:00:00"), "Saken din er behandlet.",
                      sender="ola.hansen", channel="staff", language="nb")
    handoff = b.handoff(OLD_CLOSED, "personal_case", at("2026-01-10 09:00:01"), [
        ("open", None, at("2026-01-10 09:00:01"), None),
        ("claimed", "ola.hansen", at("2026-01-10 09:30:00"), None),
        ("answered", "ola.hansen", at("2026-01-10 10:00:00"), None),
        ("closed", "ola.hansen", at("2026-01-10 10:05:00"), None),
    ], channel="rest", language="nb", record=question)
    b.outbox(OLD_CLOSED, "Saken din er behandlet.", "ola.hansen", at("2026-01-10 10:00:00"), channel="rest",
             handoff=handoff, record=answer, delivered_at=at("2026-01-10 10:00:03"))

    b.record(OLD_PLAIN, Kind.CITIZEN_MESSAGE, at("2026-01-20 12:00:00"), "Når stenger bassenget?", sender=OLD_PLAIN,
             channel="widget", language="nb", intent="opening_hours")
    b.record(OLD_PLAIN, Kind.BOT_MESSAGE, at("2026-01-20 12:00:01"), "Bassenget stenger kl. 21.", sender="bot",
             channel="widget", language="nb")

    question = b.record(OLD_OPEN, Kind.CITIZEN_MESSAGE, at("2026-01-15 14:00:00"), "Eg vil snakke med eit menneske.",
                        sender=OLD_OPEN, channel="rest", language="nn", intent="request_human")
    b.handoff(OLD_OPEN, "human_requested", at("2026-01-15 14:00:01"), [
        ("open", None, at("2026-01-15 14:00:01"), None),
        ("claimed", "kari.nordmann", at("2026-01-15 14:10:00"), None),
    ], channel="rest", language="nn", record=question)

    question = b.record(LATE_CLOSE, Kind.CITIZEN_MESSAGE, at("2026-02-01 08:00:00"), "Kan nokon ringe meg?",
                        sender=LATE_CLOSE, channel="rest", language="nn", intent="request_human")
    b.handoff(LATE_CLOSE, "human_requested", at("2026-02-01 08:00:01"), [
        ("open", None, at("2026-02-01 08:00:01"), None),
        ("closed", "kari.nordmann", at("2026-03-10 09:00:00"), "Ringt opp"),
    ], channel="rest", language="nn", record=question)

    b.record(RECENT, Kind.CITIZEN_MESSAGE, at("2026-05-20 08:00:00"), "Hei!", sender=RECENT, channel="rest",
             language="nb")
    b.record(RECENT, Kind.BOT_MESSAGE, at("2026-05-20 08:00:01"), "Hei! Hva kan jeg hjelpe deg med?", sender="bot",
             channel="rest", language="nb")

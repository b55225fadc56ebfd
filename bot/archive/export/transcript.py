"""The transcript of a conversation: the plain-text document of a Noark 5 package.

One line per archive record (``#nr time | author | kind | text``), a multi-line text continued on
lines starting with ``    | ``, facts about a record on lines starting with ``    = ``, then the
conversation's handoffs and the delivery of staff messages. The words come from
``data/locale/archive/<lang>.yml`` in the municipality's default language
(:mod:`bot.archive.export.labels`); the same input always gives the same bytes.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any, List, Mapping, Optional, Tuple

from bot.archive.export.common import Conversation, HandoffTrail, OutboxItem, iso_utc
from bot.archive.export.labels import Labels, labels_for
from bot.archive.models import ArchiveRecord, Kind

#: sender_id values of records the assistant itself wrote (bot messages, Rasa's state changes).
SYSTEM_SENDERS = ("bot", "rasa")

Refs = Mapping[int, Tuple[str, int]]


def author_of(record: ArchiveRecord, labels: Labels) -> str:
    """Who wrote a record, as the transcript and ``forfatter`` name them."""
    sender = record.sender_id
    if record.kind in (Kind.CITIZEN_MESSAGE, Kind.FEEDBACK):
        return labels("author.citizen", sender=sender) if sender else labels("author.citizen_anonymous")
    if record.kind == Kind.BOT_MESSAGE:
        return labels("author.bot")
    if record.kind in (Kind.STAFF_MESSAGE, Kind.STAFF_NOTE):
        return labels("author.staff", sender=sender) if sender else labels("author.staff_anonymous")
    if not sender or sender in SYSTEM_SENDERS:
        return labels("author.bot")
    if record.channel == "staff":
        return labels("author.staff", sender=sender)
    return sender


def list_text(value: Any) -> str:
    """A list as ``a, b``; anything else as sorted JSON."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _ref_text(labels: Labels, refs: Refs, record_id: Optional[int], conversation_id: str) -> str:
    if record_id is None:
        return ""
    ref = refs.get(record_id)
    if ref is None:
        return labels("ref.record_id", id=record_id)
    return f"#{ref[1]}" if ref[0] == conversation_id else labels("ref.other_conversation", seq=ref[1], conversation=ref[0])


def _text_lines(labels: Labels, prefix: str, text: Optional[str]) -> List[str]:
    """The first line with ``prefix``; further lines of a multi-line text start with ``    | ``."""
    body = labels("transcript.no_text") if text is None else text
    first, *rest = body.split("\n")
    return [prefix + first] + ["    | " + line for line in rest]


def _head(labels: Labels, conversation: Conversation, municipality: Any, from_date: date, to_date: date) -> List[str]:
    """The transcript's first lines: municipality, conversation, period and how to read the rest."""
    name = municipality.name_in(municipality.default_language)
    return [
        labels("transcript.title"),
        labels("transcript.municipality", name=name, id=municipality.id, country=municipality.country),
        labels("transcript.conversation", id=conversation.id),
        labels("transcript.channel", channel=conversation.channel or labels("transcript.unknown")),
        labels("transcript.languages", languages=", ".join(conversation.languages) or labels("transcript.unknown")),
        labels("transcript.span", first=iso_utc(conversation.first_at), last=iso_utc(conversation.last_at)),
        labels("transcript.period", from_date=from_date.isoformat(), to_date=to_date.isoformat()),
        labels("transcript.count", count=len(conversation.records)),
        labels("transcript.note_times"),
        labels("transcript.note_lines"),
        labels("transcript.note_continuation"),
        "",
        labels("transcript.records"),
    ]


def _record_lines(labels: Labels, record: ArchiveRecord, conversation: Conversation, refs: Refs) -> List[str]:
    """One record: its text line(s) and its facts."""
    prefix = f"#{record.seq} {iso_utc(record.occurred_at)} | {author_of(record, labels)} | {record.kind} | "
    lines = _text_lines(labels, prefix, record.text)
    details = []
    if record.language:
        details.append(labels("detail.language", language=record.language))
    if record.intent:
        confidence = f" ({record.confidence!r})" if record.confidence is not None else ""
        details.append(labels("detail.intent", intent=record.intent, confidence=confidence))
    if record.personal_data:
        details.append(labels("detail.personal_data", kinds=list_text(record.personal_data)))
    if record.corrects_id is not None:
        details.append(labels("detail.corrects", ref=_ref_text(labels, refs, record.corrects_id, conversation.id)))
    details.append(labels("detail.channel", channel=record.channel or labels("transcript.unknown")))
    details.append(labels("detail.recorded", at=iso_utc(record.recorded_at)))
    lines.append("    = " + "; ".join(details))
    if record.data:
        lines.append("    = data " + json.dumps(record.data, ensure_ascii=False, sort_keys=True))
    return lines


def _handoff_lines(labels: Labels, number: int, trail: HandoffTrail, conversation: Conversation, refs: Refs) -> List[str]:
    """One handoff from the queue: its facts, then its events."""
    handoff = trail.handoff
    facts = [
        labels("handoff.reason", reason=handoff.reason),
        labels("handoff.created", at=iso_utc(handoff.created_at)),
        labels("handoff.due", at=iso_utc(handoff.due_at)),
        labels("handoff.status", status=trail.status or labels("handoff.no_events")),
    ]
    if handoff.record_id is not None:
        facts.append(labels("handoff.triggered_by", ref=_ref_text(labels, refs, handoff.record_id, conversation.id)))
    lines = [labels("handoff.line", number=number, facts="; ".join(facts))]
    for event in trail.events:
        staff = event.actor and event.actor not in SYSTEM_SENDERS
        actor = labels("author.staff", sender=event.actor) if staff else labels("author.bot")
        prefix = f"    {iso_utc(event.at)} | {actor} | {event.status}"
        if event.detail:
            lines.extend(_text_lines(labels, prefix + " | ", event.detail))
        else:
            lines.append(prefix)
    return lines


def _outbox_lines(labels: Labels, item: OutboxItem, conversation: Conversation, refs: Refs) -> List[str]:
    """One staff message for delivery and what became of it."""
    message, delivery = item.message, item.delivery
    if delivery is None:
        outcome = labels("outbox.waiting")
    elif delivery.delivered:
        outcome = labels("outbox.delivered", at=iso_utc(delivery.at))
    else:
        outcome = labels("outbox.not_delivered", at=iso_utc(delivery.at))
    if delivery is not None and delivery.detail:
        outcome += f" ({delivery.detail})"
    head = (f"    {iso_utc(message.created_at)} | {labels('author.staff', sender=message.author)} | "
            f"{labels('outbox.recipient', recipient=message.recipient_id)} | {outcome}")
    if message.record_id is not None:
        return [f"{head} | " + labels("outbox.record", ref=_ref_text(labels, refs, message.record_id, conversation.id))]
    return _text_lines(labels, f"{head} | ", message.text)


def render_transcript(
    conversation: Conversation,
    municipality: Any,
    from_date: date,
    to_date: date,
    refs: Refs,
    labels: Optional[Labels] = None,
) -> bytes:
    """The conversation's transcript as UTF-8 bytes (the same input always gives the same bytes).

    Args:
        conversation: the conversation, whole.
        municipality: its profile (name, id, country, default language).
        from_date, to_date: the export's period.
        refs: ArchiveRecord.id -> (conversation id, seq), for references between records.
        labels: the words; defaults to the municipality's default language.
    """
    labels = labels or labels_for(municipality)
    lines = _head(labels, conversation, municipality, from_date, to_date)
    for record in conversation.records:
        lines.extend(_record_lines(labels, record, conversation, refs))
    lines.append("")
    if not conversation.handoffs:
        lines.append(labels("handoff.none"))
    else:
        lines.append(labels("handoff.heading"))
        for number, trail in enumerate(conversation.handoffs, start=1):
            lines.extend(_handoff_lines(labels, number, trail, conversation, refs))
    if conversation.outbox:
        lines.append("")
        lines.append(labels("outbox.heading"))
        for item in conversation.outbox:
            lines.extend(_outbox_lines(labels, item, conversation, refs))
    return ("\n".join(lines) + "\n").encode("utf-8", errors="backslashreplace")


__all__ = ["SYSTEM_SENDERS", "author_of", "list_text", "render_transcript"]

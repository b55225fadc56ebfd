"""``arkivstruktur.xml`` of a Noark 5 package and the transcripts it points to.

One ``arkiv`` with one ``arkivdel`` for the period, one ``mappe`` per conversation, in it one
``basisregistrering`` per archive record and one more for the transcript (see
:mod:`bot.archive.export.noark5` for why these elements and values). Titles and descriptions are
in the municipality's default language (:mod:`bot.archive.export.labels`); code values are the
Noark 5 metadata catalogue's.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import bot.archive.export.identifiers as ids
from bot.archive.export.common import SYSTEM_NAME, Conversation, LoadedExport, iso_utc, period_bounds, sha256_file
from bot.archive.export.labels import Labels
from bot.archive.export.transcript import author_of, list_text, render_transcript
from bot.archive.export.xmlwriter import XmlWriter
from bot.archive.models import ArchiveRecord
from bot.storage.base import utc

Refs = Mapping[int, Tuple[str, int]]


@dataclass(frozen=True)
class _Context:
    """What every part of arkivstruktur.xml needs: the municipality, the words, the references."""

    municipality: Any
    labels: Labels
    refs: Refs
    exported_at: datetime

    @property
    def municipality_id(self) -> str:
        return self.municipality.id


def _created_and_archived(xml: XmlWriter, created: datetime, archived: datetime) -> None:
    xml.leaf("opprettetDato", iso_utc(created))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("arkivertDato", iso_utc(archived))
    xml.leaf("arkivertAv", SYSTEM_NAME)


def _created_and_closed(xml: XmlWriter, created: datetime, closed: datetime) -> None:
    xml.leaf("opprettetDato", iso_utc(created))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("avsluttetDato", iso_utc(closed))
    xml.leaf("avsluttetAv", SYSTEM_NAME)


def _write_record(xml: XmlWriter, context: _Context, conversation: Conversation, record: ArchiveRecord,
                  document: str) -> None:
    """The basisregistrering of one archive record (its text stays in the transcript)."""
    labels = context.labels
    xml.open("registrering", [("xsi:type", ids.RECORD_TYPE)])
    xml.leaf("systemID", ids.record_system_id(context.municipality_id, conversation.id, record.seq))
    _created_and_archived(xml, record.occurred_at, record.recorded_at)
    xml.leaf("registreringsID", f"{conversation.id}/{record.seq}")
    kind = labels(f"kind.{record.kind}") if labels.has(f"kind.{record.kind}") else record.kind
    xml.leaf("tittel", labels("record.title", kind=kind, seq=record.seq))
    facts = [labels("record.in_transcript", seq=record.seq, document=document), labels("record.kind", kind=record.kind)]
    if record.language:
        facts.append(labels("record.language", language=record.language))
    if record.intent:
        facts.append(labels("record.intent", intent=record.intent))
    if record.personal_data:
        facts.append(labels("record.personal_data", kinds=list_text(record.personal_data)))
    xml.leaf("beskrivelse", "; ".join(facts) + ".")
    xml.leaf("forfatter", author_of(record, labels))
    if record.corrects_id is not None and record.corrects_id in context.refs:
        target_conversation, target_seq = context.refs[record.corrects_id]
        xml.open("kryssreferanse")
        xml.leaf("referanseTilRegistrering", ids.record_system_id(context.municipality_id, target_conversation, target_seq))
        xml.close("kryssreferanse")
    xml.close("registrering")


def _write_dokumentobjekt(xml: XmlWriter, document: str, checksum: str, size: int, exported_at: datetime) -> None:
    xml.open("dokumentobjekt")
    xml.leaf("versjonsnummer", 1)
    xml.leaf("variantformat", ids.VARIANT_FORMAT)
    xml.leaf("format", ids.DOCUMENT_FORMAT)
    xml.leaf("formatDetaljer", ids.DOCUMENT_FORMAT_DETAILS)
    xml.leaf("opprettetDato", iso_utc(exported_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("referanseDokumentfil", document)
    xml.leaf("sjekksum", checksum)
    xml.leaf("sjekksumAlgoritme", ids.CHECKSUM_ALGORITHM)
    xml.leaf("filstoerrelse", size)
    xml.close("dokumentobjekt")


def _write_transcript_registrering(xml: XmlWriter, context: _Context, conversation: Conversation, document: str,
                                   checksum: str, size: int) -> None:
    """The basisregistrering that carries the transcript as its main document."""
    labels, exported_at, municipality_id = context.labels, context.exported_at, context.municipality_id
    channel = conversation.channel or labels("transcript.unknown")
    title = labels("transcript_record.title", id=conversation.id, channel=channel)
    xml.open("registrering", [("xsi:type", ids.RECORD_TYPE)])
    xml.leaf("systemID", ids.system_id(municipality_id, "samtale", conversation.id, "samtalelogg"))
    _created_and_archived(xml, exported_at, exported_at)
    xml.open("dokumentbeskrivelse")
    xml.leaf("systemID", ids.system_id(municipality_id, "samtale", conversation.id, "samtalelogg", "dokument"))
    xml.leaf("dokumenttype", ids.DOCUMENT_TYPE)
    xml.leaf("dokumentstatus", ids.DOCUMENT_STATUS)
    xml.leaf("tittel", title)
    xml.leaf("beskrivelse", labels("transcript_record.description", count=len(conversation.records)))
    xml.leaf("forfatter", SYSTEM_NAME)
    xml.leaf("opprettetDato", iso_utc(exported_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("tilknyttetRegistreringSom", ids.DOCUMENT_ROLE)
    xml.leaf("dokumentnummer", 1)
    xml.leaf("tilknyttetDato", iso_utc(exported_at))
    xml.leaf("tilknyttetAv", SYSTEM_NAME)
    _write_dokumentobjekt(xml, document, checksum, size, exported_at)
    xml.close("dokumentbeskrivelse")
    xml.leaf("registreringsID", f"{conversation.id}/samtalelogg")
    xml.leaf("tittel", title)
    xml.leaf("forfatter", SYSTEM_NAME)
    xml.close("registrering")


def _write_handoff_notes(xml: XmlWriter, context: _Context, conversation: Conversation) -> None:
    """One merknad per handoff: reason, status and the steps of the queue."""
    labels = context.labels
    for trail in conversation.handoffs:
        handoff = trail.handoff
        steps = ", ".join(f"{event.status} {iso_utc(event.at)}" for event in trail.events) or labels("handoff.no_events")
        xml.open("merknad")
        xml.leaf("merknadstekst", labels("mappe.handoff_note", reason=handoff.reason,
                                         status=trail.status or labels("transcript.unknown"), steps=steps))
        xml.leaf("merknadstype", ids.NOTE_TYPE_HANDOFF)
        xml.leaf("merknadsdato", iso_utc(handoff.created_at))
        xml.leaf("merknadRegistrertAv", SYSTEM_NAME)
        xml.close("merknad")


def _write_mappe(xml: XmlWriter, context: _Context, conversation: Conversation, document: str, checksum: str,
                 size: int) -> None:
    """The mappe of one conversation, with a registrering per record and one for the transcript."""
    labels = context.labels
    channel = conversation.channel or labels("transcript.unknown")
    xml.open("mappe")
    xml.leaf("systemID", ids.conversation_system_id(context.municipality_id, conversation.id))
    xml.leaf("mappeID", conversation.id)
    xml.leaf("tittel", labels("mappe.title", id=conversation.id, channel=channel))
    xml.leaf("offentligTittel", labels("mappe.public_title", channel=channel))
    xml.leaf("beskrivelse", labels(
        "mappe.description", channel=channel, languages=", ".join(conversation.languages) or labels("transcript.unknown"),
        count=len(conversation.records), first=iso_utc(conversation.first_at), last=iso_utc(conversation.last_at)))
    xml.leaf("dokumentmedium", ids.MEDIUM)
    _created_and_closed(xml, conversation.first_at, conversation.last_at)
    _write_handoff_notes(xml, context, conversation)
    for record in conversation.records:
        _write_record(xml, context, conversation, record, document)
    _write_transcript_registrering(xml, context, conversation, document, checksum, size)
    xml.close("mappe")


def _open_arkiv(xml: XmlWriter, context: _Context, created: datetime) -> None:
    """The arkiv element's own metadata and its arkivskaper (the municipality)."""
    municipality, labels = context.municipality, context.labels
    name = municipality.name_in(municipality.default_language)
    xml.open("arkiv", [
        ("xmlns", ids.ARKIVSTRUKTUR_NS),
        ("xmlns:xsi", ids.XSI_NS),
        ("xsi:schemaLocation", f"{ids.ARKIVSTRUKTUR_NS} arkivstruktur.xsd"),
    ])
    xml.leaf("systemID", ids.system_id(municipality.id, "arkiv"))
    xml.leaf("tittel", labels("arkiv.title", name=name))
    xml.leaf("beskrivelse", labels("arkiv.description"))
    xml.leaf("arkivstatus", ids.STATUS_CLOSED)
    xml.leaf("dokumentmedium", ids.MEDIUM)
    _created_and_closed(xml, created, context.exported_at)
    xml.open("arkivskaper")
    xml.leaf("arkivskaperID", municipality.id)
    xml.leaf("arkivskaperNavn", name)
    xml.leaf("beskrivelse", labels("arkiv.creator", id=municipality.id, country=municipality.country))
    xml.close("arkivskaper")


def _open_arkivdel(xml: XmlWriter, context: _Context, from_date: date, to_date: date, created: datetime) -> None:
    """The arkivdel of the period: closed when the period ended before the export day."""
    labels, period = context.labels, {"from_date": from_date.isoformat(), "to_date": to_date.isoformat()}
    closed_period = to_date < context.exported_at.date()
    xml.open("arkivdel")
    xml.leaf("systemID", ids.system_id(context.municipality_id, "arkivdel", from_date.isoformat(), to_date.isoformat()))
    xml.leaf("tittel", labels("arkivdel.title", **period))
    xml.leaf("beskrivelse", labels("arkivdel.description", **period))
    xml.leaf("arkivdelstatus", ids.PERIOD_CLOSED if closed_period else ids.PERIOD_ACTIVE)
    xml.leaf("dokumentmedium", ids.MEDIUM)
    _created_and_closed(xml, created, context.exported_at)
    xml.leaf("arkivperiodeStartDato", from_date.isoformat())
    xml.leaf("arkivperiodeSluttDato", to_date.isoformat())


def write_arkivstruktur(path: Path, out_dir: Path, loaded: LoadedExport, municipality: Any, labels: Labels,
                        from_date: date, to_date: date, exported_at: datetime) -> Tuple[Counter, Dict[str, str]]:
    """Writes arkivstruktur.xml and the transcripts.

    Returns:
        The number of each element written, and every transcript (path in the package -> SHA-256 hex).
    """
    counts: Counter = Counter()
    documents: Dict[str, str] = {}
    context = _Context(municipality, labels, loaded.record_refs, exported_at)
    start, _ = period_bounds(from_date, to_date)
    all_records = [record for conversation in loaded.conversations for record in conversation.records]
    arkivdel_created = min((utc(record.occurred_at) for record in all_records), default=start)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        xml = XmlWriter(handle)
        _open_arkiv(xml, context, loaded.archive_started or arkivdel_created)
        counts["arkiv"] += 1
        _open_arkivdel(xml, context, from_date, to_date, arkivdel_created)
        counts["arkivdel"] += 1
        (out_dir / ids.DOKUMENT_DIR).mkdir(exist_ok=True)
        for conversation in loaded.conversations:
            document = ids.transcript_path(municipality.id, conversation.id)
            content = render_transcript(conversation, municipality, from_date, to_date, loaded.record_refs, labels)
            (out_dir / document).write_bytes(content)
            checksum = sha256_file(out_dir / document)
            documents[document] = checksum
            _write_mappe(xml, context, conversation, document, checksum, len(content))
            counts["mappe"] += 1
            counts["registrering"] += len(conversation.records) + 1
            counts["dokumentbeskrivelse"] += 1
            counts["dokumentobjekt"] += 1
        xml.close("arkivdel")
        xml.close("arkiv")
    return counts, documents


__all__ = ["write_arkivstruktur"]

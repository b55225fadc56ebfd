"""The Noark 5 (version 3.1) arkivuttrekk writer.

A package holds:

* ``arkivstruktur.xml`` (schema ``arkivstruktur.xsd``): one ``arkiv`` with one ``arkivdel`` for
  the period; one ``mappe`` per conversation; in it one ``registrering`` of type
  ``basisregistrering`` per archive record (citizen, bot and staff messages, staff notes, handoff
  events, state changes, feedback: every record, so nothing in the archive is left out), and one
  more ``basisregistrering`` "Samtalelogg" that carries the conversation's transcript as its
  ``dokumentbeskrivelse``/``dokumentobjekt`` (with SHA-256 checksum and size).
* ``DOKUMENT/<mappe systemID>.txt``: the transcript of each conversation, plain UTF-8 text.
* ``arkivuttrekk.xml`` (schema ``addml.xsd``): the ADDML package description, modelled on the
  National Archives' example: creator, system, period, producer, the checksum of
  ``arkivstruktur.xml`` and the number of mapper, registreringer, dokumentbeskrivelser and
  dokumentobjekter.
* optionally ``arkivstruktur.xsd`` and ``metadatakatalog.xsd`` (``schema_dir``).

Why these elements:

* ``basisregistrering``, not ``journalpost``: a journalpost is a journaled document with a
  journal status ("Journalført" ...) and correspondence parties; chat messages are not journaled,
  and claiming so would be false. The metadata catalogue (M024) says systems without
  correspondence documents should give each registrering a ``forfatter``; basisregistrering has
  it (plain ``registrering`` has neither title nor author).
* ``mappe`` (not ``saksmappe``): a saksmappe requires a responsible officer and administrative
  unit that a conversation does not have.
* A registrering can only hold documents before its own ``registreringsID`` (the XSD extends
  registrering that way), and a mappe holds either sub-folders or registreringer, so the
  transcript gets a registrering of its own.
* Message texts are not put in the metadata (titles, descriptions): they contain personal data
  (e.g. national identity numbers) and metadata is what archive catalogues index and show; the
  complete text is in the checksummed transcript.

Values (every element the schema requires is filled):

* systemID: UUID 5 of the municipality id and the conversation id (and seq), so the same
  conversation gets the same identifiers in every export.
* arkiv: opprettetDato = the first record in the database; arkivstatus "Avsluttet",
  avsluttetDato = the export time (the package is closed: nothing is added to it).
* arkivdel: arkivdelstatus "Avsluttet periode" when the period ended before the export day, else
  "Aktiv periode"; opprettetDato = first exported record (period start if none); avsluttetDato
  = export time; arkivperiodeStartDato/SluttDato = the period.
* mappe: opprettetDato/avsluttetDato = first/last record of the conversation (nothing else
  closes a conversation); one ``merknad`` per handoff (reason, status).
* message registrering: opprettetDato = occurred_at, arkivertDato = recorded_at, opprettetAv and
  arkivertAv = the system, forfatter = the citizen (channel id), the assistant or the staff
  member; a correction gets a ``kryssreferanse`` to the record it corrects.
* transcript: dokumenttype "Samtalelogg", dokumentstatus "Dokumentet er ferdigstilt",
  tilknyttetRegistreringSom "Hoveddokument", variantformat "Arkivformat" (UTF-8 plain text is an
  archive format), format ``x-fmt/111`` (PRONOM: plain text file), created at the export time.

The schema files are the National Archives' own (``../shared/standards/noark5-v3.1`` beside the project, ``NOARK5_SCHEMA_DIR``); the
tests validate both XML files against them.
"""
from __future__ import annotations

import json
import re
import shutil
import uuid
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple
from xml.sax.saxutils import escape, quoteattr

from bot.archive.export import (
    SYSTEM_NAME,
    Conversation,
    LoadedExport,
    iso_utc,
    period_bounds,
    sha256_file,
)
from bot.archive.models import ArchiveRecord, Kind
from bot.storage.base import utc

ARKIVSTRUKTUR_NS = "http://www.arkivverket.no/standarder/noark5/arkivstruktur"
ADDML_NS = "http://www.arkivverket.no/standarder/addml"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ARKIVSTRUKTUR = "arkivstruktur.xml"
ARKIVUTTREKK = "arkivuttrekk.xml"
DOKUMENT_DIR = "DOKUMENT"
#: Schema files a package may carry (copied from ``schema_dir``), in the order they are listed.
SCHEMA_FILES: Tuple[str, ...] = ("arkivstruktur.xsd", "metadatakatalog.xsd")

NOARK_VERSION = "3.1"
CHECKSUM_ALGORITHM = "SHA-256"  # dokumentobjekt/sjekksumAlgoritme
ADDML_CHECKSUM_ALGORITHM = "SHA256"  # as in the National Archives' example arkivuttrekk.xml
DOCUMENT_FORMAT = "x-fmt/111"  # PRONOM: Plain Text File
DOCUMENT_FORMAT_DETAILS = "text/plain; charset=UTF-8; linjeskift LF"

#: Never change: the systemIDs of earlier exports are derived from it.
ID_NAMESPACE = uuid.UUID("5d0f3a8e-2c4b-5e61-9a7d-3b1c8e4f6a20")

KIND_TITLES: Mapping[str, str] = {
    Kind.CITIZEN_MESSAGE: "Melding fra innbygger",
    Kind.BOT_MESSAGE: "Svar fra innbyggerassistenten",
    Kind.STAFF_MESSAGE: "Melding fra saksbehandler",
    Kind.STAFF_NOTE: "Internt notat fra saksbehandler",
    Kind.HANDOFF_EVENT: "Hendelse i overføring til saksbehandler",
    Kind.STATE_CHANGE: "Endring i samtalens tilstand",
    Kind.FEEDBACK: "Tilbakemelding fra innbygger",
}
BOT_AUTHOR = "innbyggerassistenten"
#: sender_id values of records the assistant itself wrote (bot messages, Rasa's state changes).
SYSTEM_SENDERS = ("bot", "rasa")


def check_schema_dir(schema_dir: Path) -> None:
    """Raises :class:`bot.archive.export.ExportError` unless ``schema_dir`` has the schema files."""
    from bot.archive.export import ExportError

    missing = [name for name in SCHEMA_FILES if not (schema_dir / name).is_file()]
    if missing:
        raise ExportError(f"{schema_dir} lacks the Noark 5 schema file(s) {', '.join(missing)}")


# ------------------------------------------------------------------------------------------
# Identifiers and words
# ------------------------------------------------------------------------------------------


def system_id(municipality_id: str, *parts: str) -> str:
    """A deterministic systemID (UUID 5) for an archive unit of a municipality."""
    return str(uuid.uuid5(ID_NAMESPACE, json.dumps([municipality_id, *parts], ensure_ascii=False)))


def conversation_system_id(municipality_id: str, conversation_id: str) -> str:
    """The mappe systemID of a conversation (also the transcript's file name)."""
    return system_id(municipality_id, "samtale", conversation_id)


def record_system_id(municipality_id: str, conversation_id: str, seq: int) -> str:
    """The registrering systemID of an archive record."""
    return system_id(municipality_id, "samtale", conversation_id, "registrering", str(seq))


def transcript_path(municipality_id: str, conversation_id: str) -> str:
    """The transcript's path in the package, as written in referanseDokumentfil."""
    return f"{DOKUMENT_DIR}/{conversation_system_id(municipality_id, conversation_id)}.txt"


def author_of(record: ArchiveRecord) -> str:
    """Who wrote a record, as the transcript and ``forfatter`` name them."""
    sender = record.sender_id
    if record.kind in (Kind.CITIZEN_MESSAGE, Kind.FEEDBACK):
        return f"innbygger {sender}" if sender else "innbygger"
    if record.kind == Kind.BOT_MESSAGE:
        return BOT_AUTHOR
    if record.kind in (Kind.STAFF_MESSAGE, Kind.STAFF_NOTE):
        return f"saksbehandler {sender}" if sender else "saksbehandler"
    if not sender or sender in SYSTEM_SENDERS:
        return BOT_AUTHOR
    if record.channel == "staff":
        return f"saksbehandler {sender}"
    return sender


def _list_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# ------------------------------------------------------------------------------------------
# Transcript
# ------------------------------------------------------------------------------------------


def _ref_text(refs: Mapping[int, Tuple[str, int]], record_id: Optional[int], conversation_id: str) -> str:
    if record_id is None:
        return ""
    ref = refs.get(record_id)
    if ref is None:
        return f"arkivpost id {record_id}"
    return f"#{ref[1]}" if ref[0] == conversation_id else f"#{ref[1]} i samtale {ref[0]}"


def _text_lines(prefix: str, text: Optional[str]) -> List[str]:
    """The first line with ``prefix``; further lines of a multi-line text start with ``    | ``."""
    body = "(ingen tekst)" if text is None else text
    first, *rest = body.split("\n")
    return [prefix + first] + ["    | " + line for line in rest]


def render_transcript(
    conversation: Conversation,
    municipality: Any,
    from_date: date,
    to_date: date,
    refs: Mapping[int, Tuple[str, int]],
) -> bytes:
    """The conversation's transcript as UTF-8 bytes (the same input always gives the same bytes)."""
    name = municipality.name_in(municipality.default_language)
    lines = [
        "Samtalelogg fra innbyggerassistenten",
        f"Kommune: {name} ({municipality.id}, {municipality.country})",
        f"Samtale-ID: {conversation.id}",
        f"Kanal: {conversation.channel}",
        f"Språk: {', '.join(conversation.languages) or 'ukjent'}",
        f"Samtalen: {iso_utc(conversation.first_at)} – {iso_utc(conversation.last_at)}",
        f"Uttrekksperiode: {from_date.isoformat()} – {to_date.isoformat()} (UTC); hele samtalen er med",
        f"Antall registreringer: {len(conversation.records)}",
        "Tider er UTC (ISO 8601). Tekstene er gjengitt nøyaktig slik de er arkivert, med personopplysninger.",
        "Linje per registrering: #nr tid | forfatter | type | tekst. En tekst over flere linjer fortsetter",
        "på linjer som begynner med «    | »; linjer som begynner med «    = » er opplysninger om registreringen.",
        "",
        "Registreringer:",
    ]
    for record in conversation.records:
        prefix = f"#{record.seq} {iso_utc(record.occurred_at)} | {author_of(record)} | {record.kind} | "
        lines.extend(_text_lines(prefix, record.text))
        details = []
        if record.language:
            details.append(f"språk {record.language}")
        if record.intent:
            confidence = f" ({record.confidence!r})" if record.confidence is not None else ""
            details.append(f"tolket som {record.intent}{confidence}")
        if record.personal_data:
            details.append(f"personopplysninger: {_list_text(record.personal_data)}")
        if record.corrects_id is not None:
            details.append(f"retter {_ref_text(refs, record.corrects_id, conversation.id)}")
        details.append(f"kanal {record.channel or 'ukjent'}")
        details.append(f"arkivert {iso_utc(record.recorded_at)}")
        lines.append("    = " + "; ".join(details))
        if record.data:
            lines.append("    = data " + json.dumps(record.data, ensure_ascii=False, sort_keys=True))

    lines.append("")
    if not conversation.handoffs:
        lines.append("Overføringer til saksbehandler: ingen")
    else:
        lines.append("Overføringer til saksbehandler (fra overføringskøen):")
        for number, trail in enumerate(conversation.handoffs, start=1):
            handoff = trail.handoff
            facts = [
                f"grunn {handoff.reason}",
                f"opprettet {iso_utc(handoff.created_at)}",
                f"frist {iso_utc(handoff.due_at)}",
                f"status {trail.status or 'ingen hendelser'}",
            ]
            if handoff.record_id is not None:
                facts.append(f"utløst av {_ref_text(refs, handoff.record_id, conversation.id)}")
            lines.append(f"Overføring {number}: " + "; ".join(facts))
            for event in trail.events:
                actor = f"saksbehandler {event.actor}" if event.actor and event.actor not in SYSTEM_SENDERS else BOT_AUTHOR
                prefix = f"    {iso_utc(event.at)} | {actor} | {event.status}"
                if event.detail:
                    lines.extend(_text_lines(prefix + " | ", event.detail))
                else:
                    lines.append(prefix)
    if conversation.outbox:
        lines.append("")
        lines.append("Meldinger fra saksbehandler til levering (utboks):")
        for item in conversation.outbox:
            message, delivery = item.message, item.delivery
            if delivery is None:
                outcome = "venter på levering"
            elif delivery.delivered:
                outcome = f"levert {iso_utc(delivery.at)}"
            else:
                outcome = f"ikke levert {iso_utc(delivery.at)}"
            if delivery is not None and delivery.detail:
                outcome += f" ({delivery.detail})"
            head = f"    {iso_utc(message.created_at)} | saksbehandler {message.author} | til {message.recipient_id} | {outcome}"
            if message.record_id is not None:
                lines.append(f"{head} | registrering {_ref_text(refs, message.record_id, conversation.id)}")
            else:
                lines.extend(_text_lines(f"{head} | ", message.text))
    return ("\n".join(lines) + "\n").encode("utf-8", errors="backslashreplace")


# ------------------------------------------------------------------------------------------
# XML writing
# ------------------------------------------------------------------------------------------

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str) -> str:
    """Escapes text for XML; characters XML 1.0 cannot carry are written as ``\\uXXXX``."""
    cleaned = _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    return escape(cleaned).replace("\r", "&#13;")


class _XmlWriter:
    """A small streaming XML writer with two-space indentation (arkivstruktur.xml can be large)."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._depth = 0
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')

    def open(self, tag: str, attributes: Optional[Sequence[Tuple[str, str]]] = None) -> None:
        attrs = "".join(f" {name}={quoteattr(_NOT_XML.sub('?', value))}" for name, value in attributes or ())
        self._handle.write(f"{'  ' * self._depth}<{tag}{attrs}>\n")
        self._depth += 1

    def close(self, tag: str) -> None:
        self._depth -= 1
        self._handle.write(f"{'  ' * self._depth}</{tag}>\n")

    def leaf(self, tag: str, text: Any, attributes: Optional[Sequence[Tuple[str, str]]] = None) -> None:
        attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes or ())
        self._handle.write(f"{'  ' * self._depth}<{tag}{attrs}>{_xml_text(str(text))}</{tag}>\n")


def _dt(value: datetime) -> str:
    return iso_utc(value)


# ------------------------------------------------------------------------------------------
# arkivstruktur.xml
# ------------------------------------------------------------------------------------------


def _write_record(xml: _XmlWriter, municipality_id: str, conversation: Conversation, record: ArchiveRecord,
                  refs: Mapping[int, Tuple[str, int]], document: str) -> None:
    xml.open("registrering", [("xsi:type", "basisregistrering")])
    xml.leaf("systemID", record_system_id(municipality_id, conversation.id, record.seq))
    xml.leaf("opprettetDato", _dt(record.occurred_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("arkivertDato", _dt(record.recorded_at))
    xml.leaf("arkivertAv", SYSTEM_NAME)
    xml.leaf("registreringsID", f"{conversation.id}/{record.seq}")
    xml.leaf("tittel", f"{KIND_TITLES.get(record.kind, record.kind)} nr. {record.seq}")
    facts = [f"Registrering #{record.seq} i samtaleloggen {document}", f"type {record.kind}"]
    if record.language:
        facts.append(f"språk {record.language}")
    if record.intent:
        facts.append(f"tolket som {record.intent}")
    if record.personal_data:
        facts.append(f"teksten inneholder personopplysninger ({_list_text(record.personal_data)})")
    xml.leaf("beskrivelse", "; ".join(facts) + ".")
    xml.leaf("forfatter", author_of(record))
    if record.corrects_id is not None and record.corrects_id in refs:
        target_conversation, target_seq = refs[record.corrects_id]
        xml.open("kryssreferanse")
        xml.leaf("referanseTilRegistrering", record_system_id(municipality_id, target_conversation, target_seq))
        xml.close("kryssreferanse")
    xml.close("registrering")


def _write_transcript_registrering(
    xml: _XmlWriter,
    municipality_id: str,
    conversation: Conversation,
    document: str,
    checksum: str,
    size: int,
    exported_at: datetime,
) -> None:
    title = f"Samtalelogg {conversation.id} ({conversation.channel})"
    xml.open("registrering", [("xsi:type", "basisregistrering")])
    xml.leaf("systemID", system_id(municipality_id, "samtale", conversation.id, "samtalelogg"))
    xml.leaf("opprettetDato", _dt(exported_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("arkivertDato", _dt(exported_at))
    xml.leaf("arkivertAv", SYSTEM_NAME)
    xml.open("dokumentbeskrivelse")
    xml.leaf("systemID", system_id(municipality_id, "samtale", conversation.id, "samtalelogg", "dokument"))
    xml.leaf("dokumenttype", "Samtalelogg")
    xml.leaf("dokumentstatus", "Dokumentet er ferdigstilt")
    xml.leaf("tittel", title)
    xml.leaf(
        "beskrivelse",
        f"Hele samtalen som ren tekst (UTF-8): {len(conversation.records)} registreringer, "
        "overføringer til saksbehandler og levering av svar.",
    )
    xml.leaf("forfatter", SYSTEM_NAME)
    xml.leaf("opprettetDato", _dt(exported_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("tilknyttetRegistreringSom", "Hoveddokument")
    xml.leaf("dokumentnummer", 1)
    xml.leaf("tilknyttetDato", _dt(exported_at))
    xml.leaf("tilknyttetAv", SYSTEM_NAME)
    xml.open("dokumentobjekt")
    xml.leaf("versjonsnummer", 1)
    xml.leaf("variantformat", "Arkivformat")
    xml.leaf("format", DOCUMENT_FORMAT)
    xml.leaf("formatDetaljer", DOCUMENT_FORMAT_DETAILS)
    xml.leaf("opprettetDato", _dt(exported_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("referanseDokumentfil", document)
    xml.leaf("sjekksum", checksum)
    xml.leaf("sjekksumAlgoritme", CHECKSUM_ALGORITHM)
    xml.leaf("filstoerrelse", size)
    xml.close("dokumentobjekt")
    xml.close("dokumentbeskrivelse")
    xml.leaf("registreringsID", f"{conversation.id}/samtalelogg")
    xml.leaf("tittel", title)
    xml.leaf("forfatter", SYSTEM_NAME)
    xml.close("registrering")


def _write_mappe(
    xml: _XmlWriter,
    municipality: Any,
    conversation: Conversation,
    refs: Mapping[int, Tuple[str, int]],
    document: str,
    checksum: str,
    size: int,
    exported_at: datetime,
) -> None:
    municipality_id = municipality.id
    xml.open("mappe")
    xml.leaf("systemID", conversation_system_id(municipality_id, conversation.id))
    xml.leaf("mappeID", conversation.id)
    xml.leaf("tittel", f"Samtale {conversation.id} ({conversation.channel})")
    xml.leaf("offentligTittel", f"Samtale med innbyggerassistenten ({conversation.channel})")
    xml.leaf(
        "beskrivelse",
        f"Samtale med innbyggerassistenten i kanalen {conversation.channel}, språk "
        f"{', '.join(conversation.languages) or 'ukjent'}: {len(conversation.records)} registreringer fra "
        f"{iso_utc(conversation.first_at)} til {iso_utc(conversation.last_at)}.",
    )
    xml.leaf("dokumentmedium", "Elektronisk arkiv")
    xml.leaf("opprettetDato", _dt(conversation.first_at))
    xml.leaf("opprettetAv", SYSTEM_NAME)
    xml.leaf("avsluttetDato", _dt(conversation.last_at))
    xml.leaf("avsluttetAv", SYSTEM_NAME)
    for trail in conversation.handoffs:
        handoff = trail.handoff
        steps = ", ".join(f"{event.status} {iso_utc(event.at)}" for event in trail.events) or "ingen hendelser"
        xml.open("merknad")
        xml.leaf(
            "merknadstekst",
            f"Overført til saksbehandler (grunn: {handoff.reason}); status: {trail.status or 'ukjent'}; "
            f"hendelser: {steps}.",
        )
        xml.leaf("merknadstype", "Overføring til saksbehandler")
        xml.leaf("merknadsdato", _dt(handoff.created_at))
        xml.leaf("merknadRegistrertAv", SYSTEM_NAME)
        xml.close("merknad")
    for record in conversation.records:
        _write_record(xml, municipality_id, conversation, record, refs, document)
    _write_transcript_registrering(xml, municipality_id, conversation, document, checksum, size, exported_at)
    xml.close("mappe")


def _write_arkivstruktur(
    path: Path,
    out_dir: Path,
    loaded: LoadedExport,
    municipality: Any,
    from_date: date,
    to_date: date,
    exported_at: datetime,
) -> Tuple[Counter, Dict[str, str]]:
    """Writes arkivstruktur.xml and the transcripts; returns element counts and transcript checksums."""
    counts: Counter = Counter()
    documents: Dict[str, str] = {}
    name = municipality.name_in(municipality.default_language)
    start, _ = period_bounds(from_date, to_date)
    all_records = [record for conversation in loaded.conversations for record in conversation.records]
    arkivdel_created = min((utc(record.occurred_at) for record in all_records), default=start)
    closed_period = to_date < exported_at.date()
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        xml = _XmlWriter(handle)
        xml.open(
            "arkiv",
            [
                ("xmlns", ARKIVSTRUKTUR_NS),
                ("xmlns:xsi", XSI_NS),
                ("xsi:schemaLocation", f"{ARKIVSTRUKTUR_NS} arkivstruktur.xsd"),
            ],
        )
        xml.leaf("systemID", system_id(municipality.id, "arkiv"))
        xml.leaf("tittel", f"{name}: innbyggerassistenten (chat)")
        xml.leaf(
            "beskrivelse",
            "Samtaler mellom innbyggere og kommunens innbyggerassistent (chatbot), med saksbehandlernes "
            "svar og overføringer til saksbehandler. Hver samtale er en mappe; hver arkivert melding og "
            "hendelse er en registrering; hele samtalen ligger som tekstdokument i DOKUMENT/.",
        )
        xml.leaf("arkivstatus", "Avsluttet")
        xml.leaf("dokumentmedium", "Elektronisk arkiv")
        xml.leaf("opprettetDato", _dt(loaded.archive_started or arkivdel_created))
        xml.leaf("opprettetAv", SYSTEM_NAME)
        xml.leaf("avsluttetDato", _dt(exported_at))
        xml.leaf("avsluttetAv", SYSTEM_NAME)
        xml.open("arkivskaper")
        xml.leaf("arkivskaperID", municipality.id)
        xml.leaf("arkivskaperNavn", name)
        xml.leaf("beskrivelse", f"Kommuneprofil {municipality.id} ({municipality.country}) i innbyggerassistenten")
        xml.close("arkivskaper")
        counts["arkiv"] += 1

        xml.open("arkivdel")
        xml.leaf("systemID", system_id(municipality.id, "arkivdel", from_date.isoformat(), to_date.isoformat()))
        xml.leaf("tittel", f"Samtaler {from_date.isoformat()} – {to_date.isoformat()}")
        xml.leaf(
            "beskrivelse",
            f"Samtaler med minst én registrering fra {from_date.isoformat()} til og med {to_date.isoformat()} "
            "(UTC). En samtale er med i sin helhet, også registreringer før og etter perioden.",
        )
        xml.leaf("arkivdelstatus", "Avsluttet periode" if closed_period else "Aktiv periode")
        xml.leaf("dokumentmedium", "Elektronisk arkiv")
        xml.leaf("opprettetDato", _dt(arkivdel_created))
        xml.leaf("opprettetAv", SYSTEM_NAME)
        xml.leaf("avsluttetDato", _dt(exported_at))
        xml.leaf("avsluttetAv", SYSTEM_NAME)
        xml.leaf("arkivperiodeStartDato", from_date.isoformat())
        xml.leaf("arkivperiodeSluttDato", to_date.isoformat())
        counts["arkivdel"] += 1

        (out_dir / DOKUMENT_DIR).mkdir(exist_ok=True)
        for conversation in loaded.conversations:
            document = transcript_path(municipality.id, conversation.id)
            content = render_transcript(conversation, municipality, from_date, to_date, loaded.record_refs)
            (out_dir / document).write_bytes(content)
            checksum = sha256_file(out_dir / document)
            documents[document] = checksum
            _write_mappe(xml, municipality, conversation, loaded.record_refs, document, checksum, len(content), exported_at)
            counts["mappe"] += 1
            counts["registrering"] += len(conversation.records) + 1
            counts["dokumentbeskrivelse"] += 1
            counts["dokumentobjekt"] += 1
        xml.close("arkivdel")
        xml.close("arkiv")
    return counts, documents


# ------------------------------------------------------------------------------------------
# arkivuttrekk.xml (ADDML)
# ------------------------------------------------------------------------------------------


class _Addml:
    """Helpers for the nested ``property`` structure of ADDML."""

    def __init__(self, xml: _XmlWriter) -> None:
        self.xml = xml

    def value_property(self, name: str, value: Any, data_type: Optional[str] = None) -> None:
        attributes = [("dataType", data_type)] if data_type else []
        self.xml.open("property", attributes + [("name", name)])
        self.xml.leaf("value", value)
        self.xml.close("property")

    def file_property(self, file_name: str, checksum: Optional[str]) -> None:
        xml = self.xml
        xml.open("property", [("name", "file")])
        xml.open("properties")
        self.value_property("name", file_name)
        xml.open("property", [("name", "format")])
        xml.leaf("value", "XML")
        xml.open("properties")
        self.value_property("version", "1.0")
        xml.close("properties")
        xml.close("property")
        if checksum is not None:
            xml.open("property", [("name", "checksum")])
            xml.open("properties")
            self.value_property("algorithm", ADDML_CHECKSUM_ALGORITHM)
            self.value_property("value", checksum)
            xml.close("properties")
            xml.close("property")
        xml.close("properties")
        xml.close("property")

    def schema_property(self, file_name: str, checksum: Optional[str], main: bool) -> None:
        xml = self.xml
        xml.open("property", [("name", "schema")])
        if main:
            xml.leaf("value", "main")
        xml.open("properties")
        self.file_property(file_name, checksum)
        xml.open("property", [("name", "type")])
        xml.leaf("value", "XML Schema")
        xml.open("properties")
        self.value_property("version", "1.0")
        xml.close("properties")
        xml.close("property")
        xml.close("properties")
        xml.close("property")

    def occurrences(self, element: str, count: int) -> None:
        xml = self.xml
        xml.open("property", [("name", "numberOfOccurrences")])
        xml.leaf("value", element)
        xml.open("properties")
        self.value_property("elementPath", f"//{element}")
        self.value_property("value", count, data_type="integer")
        xml.close("properties")
        xml.close("property")

    def additional(self, name: str, value: Any) -> None:
        self.xml.open("additionalElement", [("name", name)])
        self.xml.leaf("value", value)
        self.xml.close("additionalElement")


def _write_arkivuttrekk(
    path: Path,
    municipality: Any,
    from_date: date,
    to_date: date,
    exported_at: datetime,
    arkivstruktur_checksum: str,
    schema_checksums: Mapping[str, Optional[str]],
    counts: Mapping[str, int],
) -> None:
    name = municipality.name_in(municipality.default_language)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        xml = _XmlWriter(handle)
        addml = _Addml(xml)
        xml.open("addml", [("xmlns", ADDML_NS), ("name", "Noark 5-arkivuttrekk")])
        xml.open("dataset")
        xml.leaf("description", "Noark 5-arkivuttrekk")
        xml.open("reference")
        xml.open("context")
        xml.open("additionalElements")
        xml.open("additionalElement", [("name", "recordCreators")])
        xml.open("additionalElements")
        addml.additional("recordCreator", name)
        xml.close("additionalElements")
        xml.close("additionalElement")
        addml.additional("systemType", "Innbyggerassistent (chatbot) med arkivuttrekk etter Noark 5")
        addml.additional("systemName", SYSTEM_NAME)
        addml.additional("archive", f"{name}: innbyggerassistenten (chat)")
        xml.open("additionalElement", [("name", "producer")])
        xml.leaf("value", f"{SYSTEM_NAME}, {name}")
        xml.open("properties")
        addml.value_property("exportedAt", iso_utc(exported_at), data_type="dateTime")
        xml.close("properties")
        xml.close("additionalElement")
        xml.close("additionalElements")
        xml.close("context")
        xml.open("content")
        xml.open("additionalElements")
        xml.open("additionalElement", [("name", "archivalPeriod")])
        xml.open("properties")
        addml.value_property("startDate", from_date.isoformat())
        addml.value_property("endDate", to_date.isoformat())
        xml.close("properties")
        xml.close("additionalElement")
        xml.close("additionalElements")
        xml.close("content")
        xml.close("reference")

        xml.open("dataObjects")
        xml.open("dataObject", [("name", "Noark 5 arkivuttrekk")])
        xml.open("properties")
        xml.open("property", [("name", "info")])
        xml.open("properties")
        xml.open("property", [("name", "type")])
        xml.leaf("value", "Noark 5")
        xml.open("properties")
        addml.value_property("version", NOARK_VERSION)
        xml.close("properties")
        xml.close("property")
        xml.open("property", [("name", "additionalInfo")])
        xml.open("properties")
        xml.open("property", [("name", "periode")])
        xml.open("properties")
        # Soft boundaries: conversations that began before or continue after the period are included whole.
        addml.value_property("inngaaendeSkille", "mykt")
        addml.value_property("utgaaendeSkille", "mykt")
        xml.close("properties")
        xml.close("property")
        addml.value_property("inneholderSkjermetInformasjon", "false", data_type="boolean")
        addml.value_property("omfatterDokumenterSomErKassert", "false", data_type="boolean")
        addml.value_property("inneholderDokumenterSomSkalKasseres", "false", data_type="boolean")
        addml.value_property("inneholderVirksomhetsspesifikkeMetadata", "false", data_type="boolean")
        addml.value_property("antallDokumentfiler", counts.get("dokumentobjekt", 0), data_type="integer")
        xml.close("properties")
        xml.close("property")
        xml.close("properties")
        xml.close("property")
        xml.close("properties")

        xml.open("dataObjects")
        xml.open("dataObject", [("name", "arkivstruktur")])
        xml.open("properties")
        addml.file_property(ARKIVSTRUKTUR, arkivstruktur_checksum)
        for index, schema in enumerate(SCHEMA_FILES):
            addml.schema_property(schema, schema_checksums.get(schema), main=index == 0)
        xml.open("property", [("name", "info")])
        xml.open("properties")
        for element in ("mappe", "registrering", "dokumentbeskrivelse", "dokumentobjekt"):
            addml.occurrences(element, counts.get(element, 0))
        xml.close("properties")
        xml.close("property")
        xml.close("properties")
        xml.close("dataObject")
        xml.close("dataObjects")
        xml.close("dataObject")
        xml.close("dataObjects")
        xml.close("dataset")
        xml.close("addml")


# ------------------------------------------------------------------------------------------
# The package
# ------------------------------------------------------------------------------------------


def write_package(
    out_dir: Path,
    loaded: LoadedExport,
    *,
    municipality: Any,
    from_date: date,
    to_date: date,
    exported_at: datetime,
    schema_dir: Optional[Path] = None,
) -> Dict[str, str]:
    """Writes a Noark 5 arkivuttrekk into an empty folder.

    Returns:
        Every file written (path relative to ``out_dir``, ``/``-separated) -> SHA-256 hex.
    """
    files: Dict[str, str] = {}
    schema_checksums: Dict[str, Optional[str]] = {name: None for name in SCHEMA_FILES}
    if schema_dir is not None:
        for schema in SCHEMA_FILES:
            shutil.copyfile(schema_dir / schema, out_dir / schema)
            schema_checksums[schema] = files[schema] = sha256_file(out_dir / schema)
    counts, documents = _write_arkivstruktur(
        out_dir / ARKIVSTRUKTUR, out_dir, loaded, municipality, from_date, to_date, exported_at
    )
    files.update(documents)
    files[ARKIVSTRUKTUR] = sha256_file(out_dir / ARKIVSTRUKTUR)
    _write_arkivuttrekk(
        out_dir / ARKIVUTTREKK,
        municipality,
        from_date,
        to_date,
        exported_at,
        files[ARKIVSTRUKTUR],
        schema_checksums,
        counts,
    )
    files[ARKIVUTTREKK] = sha256_file(out_dir / ARKIVUTTREKK)
    return dict(sorted(files.items()))


__all__ = [
    "ADDML_NS",
    "ARKIVSTRUKTUR",
    "ARKIVSTRUKTUR_NS",
    "ARKIVUTTREKK",
    "CHECKSUM_ALGORITHM",
    "DOKUMENT_DIR",
    "SCHEMA_FILES",
    "author_of",
    "check_schema_dir",
    "conversation_system_id",
    "record_system_id",
    "render_transcript",
    "system_id",
    "transcript_path",
    "write_package",
]

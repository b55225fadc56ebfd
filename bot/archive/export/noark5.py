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

Where each part is written: :mod:`~bot.archive.export.arkivstruktur` (and the transcripts,
:mod:`~bot.archive.export.transcript`), :mod:`~bot.archive.export.addml`; names, code values
and identifiers are in :mod:`~bot.archive.export.identifiers`, the words in
``data/locale/archive/<lang>.yml`` (the municipality's default language).
"""
from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Optional

from bot.archive.export.addml import write_arkivuttrekk
from bot.archive.export.arkivstruktur import write_arkivstruktur
from bot.archive.export.common import ExportError, LoadedExport, sha256_file
from bot.archive.export.identifiers import (
    ADDML_NS,
    ARKIVSTRUKTUR,
    ARKIVSTRUKTUR_NS,
    ARKIVUTTREKK,
    CHECKSUM_ALGORITHM,
    DOKUMENT_DIR,
    ID_NAMESPACE,
    SCHEMA_FILES,
    conversation_system_id,
    record_system_id,
    system_id,
    transcript_path,
)
from bot.archive.export.labels import labels_for
from bot.archive.export.transcript import author_of, render_transcript


def check_schema_dir(schema_dir: Path) -> None:
    """Raises :class:`bot.archive.export.ExportError` unless ``schema_dir`` has the schema files."""
    missing = [name for name in SCHEMA_FILES if not (schema_dir / name).is_file()]
    if missing:
        raise ExportError(f"{schema_dir} lacks the Noark 5 schema file(s) {', '.join(missing)}")


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
    labels = labels_for(municipality)
    files: Dict[str, str] = {}
    schema_checksums: Dict[str, Optional[str]] = {name: None for name in SCHEMA_FILES}
    if schema_dir is not None:
        for schema in SCHEMA_FILES:
            shutil.copyfile(schema_dir / schema, out_dir / schema)
            schema_checksums[schema] = files[schema] = sha256_file(out_dir / schema)
    counts, documents = write_arkivstruktur(
        out_dir / ARKIVSTRUKTUR, out_dir, loaded, municipality, labels, from_date, to_date, exported_at
    )
    files.update(documents)
    files[ARKIVSTRUKTUR] = sha256_file(out_dir / ARKIVSTRUKTUR)
    write_arkivuttrekk(
        out_dir / ARKIVUTTREKK,
        municipality,
        labels,
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
    "ID_NAMESPACE",
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

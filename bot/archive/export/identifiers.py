"""Names, namespaces, Noark 5 code values and the deterministic systemIDs of a Noark 5 package."""
from __future__ import annotations

import json
import uuid
from typing import Tuple

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

#: Values from the Noark 5 metadata catalogue (fixed by the standard, the same in every language).
STATUS_CLOSED = "Avsluttet"
MEDIUM = "Elektronisk arkiv"
PERIOD_CLOSED = "Avsluttet periode"
PERIOD_ACTIVE = "Aktiv periode"
DOCUMENT_TYPE = "Samtalelogg"
DOCUMENT_STATUS = "Dokumentet er ferdigstilt"
DOCUMENT_ROLE = "Hoveddokument"
VARIANT_FORMAT = "Arkivformat"
NOTE_TYPE_HANDOFF = "Overføring til saksbehandler"
RECORD_TYPE = "basisregistrering"
ADDML_NAME = "Noark 5-arkivuttrekk"


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



__all__ = [
    "ADDML_NS",
    "ARKIVSTRUKTUR",
    "ARKIVSTRUKTUR_NS",
    "ARKIVUTTREKK",
    "CHECKSUM_ALGORITHM",
    "DOKUMENT_DIR",
    "ID_NAMESPACE",
    "SCHEMA_FILES",
    "conversation_system_id",
    "record_system_id",
    "system_id",
    "transcript_path",
]

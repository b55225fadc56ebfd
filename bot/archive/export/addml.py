"""``arkivuttrekk.xml`` of a Noark 5 package: the ADDML description.

Modelled on the National Archives' example: creator, system, period, producer, the checksums of
``arkivstruktur.xml`` (and the schema files a package carries) and the number of mapper,
registreringer, dokumentbeskrivelser and dokumentobjekter.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping, Optional

import bot.archive.export.identifiers as ids
from bot.archive.export.common import SYSTEM_NAME, iso_utc
from bot.archive.export.labels import Labels
from bot.archive.export.xmlwriter import XmlWriter


class _Addml:
    """Helpers for the nested ``property`` structure of ADDML."""

    def __init__(self, xml: XmlWriter) -> None:
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
            self.value_property("algorithm", ids.ADDML_CHECKSUM_ALGORITHM)
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


def _write_reference(addml: _Addml, name: str, labels: Labels, from_date: date, to_date: date,
                     exported_at: datetime) -> None:
    """The reference: who created the records, with which system, for which period."""
    xml = addml.xml
    xml.open("reference")
    xml.open("context")
    xml.open("additionalElements")
    xml.open("additionalElement", [("name", "recordCreators")])
    xml.open("additionalElements")
    addml.additional("recordCreator", name)
    xml.close("additionalElements")
    xml.close("additionalElement")
    addml.additional("systemType", labels("addml.system_type"))
    addml.additional("systemName", SYSTEM_NAME)
    addml.additional("archive", labels("arkiv.title", name=name))
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


def _write_package_info(addml: _Addml, counts: Mapping[str, int]) -> None:
    """The package's info property: Noark 5 version, soft period boundaries, what it contains."""
    xml = addml.xml
    xml.open("property", [("name", "info")])
    xml.open("properties")
    xml.open("property", [("name", "type")])
    xml.leaf("value", "Noark 5")
    xml.open("properties")
    addml.value_property("version", ids.NOARK_VERSION)
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


def _write_arkivstruktur_object(addml: _Addml, arkivstruktur_checksum: str,
                                schema_checksums: Mapping[str, Optional[str]], counts: Mapping[str, int]) -> None:
    """The data object of arkivstruktur.xml: its checksum, its schemas and its element counts."""
    xml = addml.xml
    xml.open("dataObjects")
    xml.open("dataObject", [("name", "arkivstruktur")])
    xml.open("properties")
    addml.file_property(ids.ARKIVSTRUKTUR, arkivstruktur_checksum)
    for index, schema in enumerate(ids.SCHEMA_FILES):
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


def write_arkivuttrekk(
    path: Path,
    municipality: Any,
    labels: Labels,
    from_date: date,
    to_date: date,
    exported_at: datetime,
    arkivstruktur_checksum: str,
    schema_checksums: Mapping[str, Optional[str]],
    counts: Mapping[str, int],
) -> None:
    """Writes arkivuttrekk.xml (ADDML) for a package whose arkivstruktur.xml is written."""
    name = municipality.name_in(municipality.default_language)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        xml = XmlWriter(handle)
        addml = _Addml(xml)
        xml.open("addml", [("xmlns", ids.ADDML_NS), ("name", ids.ADDML_NAME)])
        xml.open("dataset")
        xml.leaf("description", ids.ADDML_NAME)
        _write_reference(addml, name, labels, from_date, to_date, exported_at)
        xml.open("dataObjects")
        xml.open("dataObject", [("name", "Noark 5 arkivuttrekk")])
        xml.open("properties")
        _write_package_info(addml, counts)
        xml.close("properties")
        _write_arkivstruktur_object(addml, arkivstruktur_checksum, schema_checksums, counts)
        xml.close("dataObject")
        xml.close("dataObjects")
        xml.close("dataset")
        xml.close("addml")


__all__ = ["write_arkivuttrekk"]

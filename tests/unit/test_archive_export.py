"""Archive export (Noark 5 and JSON Lines), package verification and the retention purge.

The Noark 5 files are validated against the National Archives' official schemas in
``../shared/standards/noark5-v3.1`` beside the project (``NOARK5_SCHEMA_DIR`` overrides it).
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from bot.archive.export import noark5
from bot.storage.db import session_scope, upgrade
from bot.archive.export import ExportError, export
from bot.archive.models import ArchiveRecord, PurgeLog
from bot.archive.models import Handoff, HandoffEvent, OutboxDelivery, OutboxMessage
from bot.archive.purge import PurgeForbidden
from bot.ops.retention import purge
from bot.archive.verify import verify
from bot.core.config import get_settings
from tests.unit import archive_fixtures as fx

SCHEMA_DIR = get_settings().noark5_schema_dir
N = {"n": noark5.ARKIVSTRUKTUR_NS, "a": noark5.ADDML_NS}
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
EXPORT_CLOCK = "2026-04-10T12:00:00+00:00"


def _schema(name: str) -> etree.XMLSchema:
    path = SCHEMA_DIR / name
    if not path.is_file():
        pytest.fail(f"the official Noark 5 schema {path} is missing (set NOARK5_SCHEMA_DIR)")
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def arkivstruktur_schema() -> etree.XMLSchema:
    return _schema("arkivstruktur.xsd")


@pytest.fixture(scope="module")
def addml_schema() -> etree.XMLSchema:
    return _schema("addml.xsd")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def export_db(archive_database_url, monkeypatch) -> str:
    monkeypatch.setenv("BOT_CLOCK", EXPORT_CLOCK)
    get_settings.cache_clear()
    url = archive_database_url
    upgrade(url)
    with session_scope(url) as session:
        fx.populate_export(session)
    return url


@pytest.fixture
def noark_package(export_db, tmp_path) -> Path:
    out = tmp_path / "uttrekk"
    export(*MARCH, out, "noark5", url=export_db)
    return out


def _transcript(package: Path, conversation_id: str) -> Path:
    return package / noark5.transcript_path("saltvika", conversation_id)


# ------------------------------------------------------------------------------------------
# Noark 5
# ------------------------------------------------------------------------------------------


def test_noark5_export_validates_against_the_official_schemas(noark_package, arkivstruktur_schema, addml_schema):
    structure = etree.parse(str(noark_package / "arkivstruktur.xml"))
    arkivstruktur_schema.assertValid(structure)
    description = etree.parse(str(noark_package / "arkivuttrekk.xml"))
    addml_schema.assertValid(description)


def test_schema_validation_catches_an_element_out_of_order(noark_package, arkivstruktur_schema):
    # The validation above is not vacuous: tittel before registreringsID breaks the XSD sequence.
    tree = etree.parse(str(noark_package / "arkivstruktur.xml"))
    registrering = tree.find(".//n:registrering", N)
    registrering_id = registrering.find("n:registreringsID", N)
    registrering.remove(registrering_id)
    registrering.append(registrering_id)
    assert not arkivstruktur_schema.validate(tree)
    assert "registreringsID" in str(arkivstruktur_schema.error_log)


def test_noark5_export_summary_and_package_contents(export_db, tmp_path):
    out = tmp_path / "uttrekk"
    summary = export(*MARCH, out, "noark5", url=export_db)
    assert summary.format == "noark5"
    assert summary.conversations == 4  # SPAN, NN, NB, SV; not OLD (February) or APRIL
    assert summary.records == 20
    assert summary.records_by_kind == {
        "bot_message": 5,
        "citizen_message": 5,
        "feedback": 2,
        "handoff_event": 4,
        "staff_message": 1,
        "staff_note": 1,
        "state_change": 2,
    }
    assert summary.records_outside_period == 2  # SPAN's 28 February message, SV's 1 April answer
    assert summary.exported_at == datetime(2026, 4, 10, 12, 0, tzinfo=timezone.utc)
    assert summary.municipality == "saltvika"
    documents = sorted(p.relative_to(out).as_posix() for p in (out / "DOKUMENT").iterdir())
    assert documents == sorted(noark5.transcript_path("saltvika", c) for c in (fx.SPAN, fx.NN, fx.NB, fx.SV))
    assert sorted(summary.files) == sorted(documents + ["arkivstruktur.xml", "arkivuttrekk.xml"])
    for name, checksum in summary.files.items():
        assert _sha256(out / name) == checksum


def test_arkivstruktur_has_one_mappe_per_conversation_and_one_registrering_per_record(noark_package):
    tree = etree.parse(str(noark_package / "arkivstruktur.xml"))
    assert len(tree.findall("n:arkivdel", N)) == 1
    arkivdel = tree.find("n:arkivdel", N)
    assert arkivdel.findtext("n:arkivdelstatus", namespaces=N) == "Avsluttet periode"
    assert arkivdel.findtext("n:arkivperiodeStartDato", namespaces=N) == "2026-03-01"
    assert arkivdel.findtext("n:arkivperiodeSluttDato", namespaces=N) == "2026-03-31"
    assert tree.getroot().findtext("n:arkivskaper/n:arkivskaperNavn", namespaces=N) == "Saltvika kommune"
    mapper = tree.findall(".//n:mappe", N)
    # In order of each conversation's first record.
    assert [m.findtext("n:mappeID", namespaces=N) for m in mapper] == [fx.SPAN, fx.NN, fx.NB, fx.SV]
    assert len(tree.findall(".//n:registrering", N)) == 20 + 4
    assert len(tree.findall(".//n:dokumentobjekt", N)) == 4

    nn = mapper[1]
    expected_id = str(uuid.uuid5(noark5.ID_NAMESPACE, json.dumps(["saltvika", "samtale", fx.NN])))
    assert nn.findtext("n:systemID", namespaces=N) == expected_id
    assert nn.findtext("n:tittel", namespaces=N) == f"Samtale {fx.NN} (rest)"
    assert nn.findtext("n:opprettetDato", namespaces=N) == "2026-03-02T08:14:59Z"
    assert nn.findtext("n:avsluttetDato", namespaces=N) == "2026-03-02T08:31:00Z"
    assert "personal_case" in nn.findtext("n:merknad/n:merknadstekst", namespaces=N)
    assert "status: closed" in nn.findtext("n:merknad/n:merknadstekst", namespaces=N)
    registreringer = nn.findall("n:registrering", N)
    assert len(registreringer) == 12  # 11 records + the transcript
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    assert {r.get(xsi_type) for r in registreringer} == {"basisregistrering"}
    personal = registreringer[3]
    assert personal.findtext("n:registreringsID", namespaces=N) == f"{fx.NN}/4"
    assert personal.findtext("n:opprettetDato", namespaces=N) == "2026-03-02T08:16:30Z"
    assert personal.findtext("n:arkivertDato", namespaces=N) == "2026-03-02T08:16:30.120000Z"
    assert personal.findtext("n:forfatter", namespaces=N) == f"innbyggjar {fx.NN}"
    assert "national_id" in personal.findtext("n:beskrivelse", namespaces=N)
    # The number itself stays out of the metadata; it is in the transcript.
    assert fx.NATIONAL_ID not in (noark_package / "arkivstruktur.xml").read_text(encoding="utf-8")
    assert registreringer[8].findtext("n:forfatter", namespaces=N) == "saksbehandlar kari.nordmann"
    assert registreringer[2].findtext("n:forfatter", namespaces=N) == "innbyggjarassistenten"

    # The corrected feedback points at the record it corrects.
    nb = mapper[2]
    correction = nb.findall("n:registrering", N)[3]
    target = nb.findall("n:registrering", N)[2]
    assert correction.findtext("n:kryssreferanse/n:referanseTilRegistrering", namespaces=N) == target.findtext(
        "n:systemID", namespaces=N
    )

    obj = nn.find("n:registrering/n:dokumentbeskrivelse/n:dokumentobjekt", N)
    path = _transcript(noark_package, fx.NN)
    assert obj.findtext("n:referanseDokumentfil", namespaces=N) == f"DOKUMENT/{path.name}"
    assert obj.findtext("n:sjekksum", namespaces=N) == _sha256(path)
    assert obj.findtext("n:sjekksumAlgoritme", namespaces=N) == "SHA-256"
    assert obj.findtext("n:filstoerrelse", namespaces=N) == str(path.stat().st_size)
    assert obj.findtext("n:format", namespaces=N) == "x-fmt/111"
    assert obj.findtext("n:variantformat", namespaces=N) == "Arkivformat"


def test_arkivuttrekk_lists_checksum_counts_period_and_producer(noark_package):
    tree = etree.parse(str(noark_package / "arkivuttrekk.xml"))

    def prop_value(element, name):
        return element.xpath(f"a:properties/a:property[@name='{name}']/a:value/text()", namespaces=N)

    structure = tree.xpath("//a:dataObject[@name='arkivstruktur']", namespaces=N)[0]
    file_prop = structure.xpath("a:properties/a:property[@name='file']", namespaces=N)[0]
    assert prop_value(file_prop, "name") == ["arkivstruktur.xml"]
    checksum = file_prop.xpath("a:properties/a:property[@name='checksum']", namespaces=N)[0]
    assert prop_value(checksum, "value") == [_sha256(noark_package / "arkivstruktur.xml")]
    counts = {
        occurrence.xpath("a:value/text()", namespaces=N)[0]: int(prop_value(occurrence, "value")[0])
        for occurrence in structure.xpath(".//a:property[@name='numberOfOccurrences']", namespaces=N)
    }
    assert counts == {"mappe": 4, "registrering": 24, "dokumentbeskrivelse": 4, "dokumentobjekt": 4}
    period = tree.xpath("//a:additionalElement[@name='archivalPeriod']", namespaces=N)[0]
    assert prop_value(period, "startDate") == ["2026-03-01"]
    assert prop_value(period, "endDate") == ["2026-03-31"]
    assert tree.xpath("//a:additionalElement[@name='recordCreator']/a:value/text()", namespaces=N) == [
        "Saltvika kommune"
    ]
    producer = tree.xpath("//a:additionalElement[@name='producer']", namespaces=N)[0]
    assert prop_value(producer, "exportedAt") == ["2026-04-10T12:00:00Z"]
    assert tree.xpath("//a:property[@name='antallDokumentfiler']/a:value/text()", namespaces=N) == ["4"]


def test_transcript_is_complete_and_unmasked(noark_package):
    text = _transcript(noark_package, fx.NN).read_bytes().decode("utf-8")
    lines = text.split("\n")
    assert lines[1] == "Kommune: Saltvika kommune (saltvika, NO)"
    assert lines[2] == f"Samtale-ID: {fx.NN}"
    assert lines[3] == "Kanal: rest"
    assert "Uttrekksperiode: 2026-03-01 – 2026-03-31 (UTC)" in text
    # The national id number is there, exactly as archived.
    assert f"#4 2026-03-02T08:16:30Z | innbyggjar {fx.NN} | citizen_message | {fx.NN_PERSONAL_TEXT}" in lines
    # A text over two lines keeps both, the second marked as continuation.
    index = lines.index("#3 2026-03-02T08:15:01Z | innbyggjarassistenten | bot_message | Servicetorget er ope i dag 08:00–15:30.")
    assert lines[index + 1] == "    | Velkomen innom!"
    assert f"#9 2026-03-02T08:25:00Z | saksbehandlar kari.nordmann | staff_message | {fx.NN_STAFF_TEXT}" in lines
    assert "#11 2026-03-02T08:31:00Z | saksbehandlar kari.nordmann | handoff_event | closed" in lines
    assert "#1 2026-03-02T08:14:59Z | innbyggjarassistenten | state_change | session_started" in lines
    record_lines = [line for line in lines if line.startswith("#")]
    assert [int(line.split()[0][1:]) for line in record_lines] == list(range(1, 12))
    # The handoff trail from the queue and the delivery of the staff answer.
    assert "status closed; utløyst av #4" in text
    trail = [line.split(" | ")[2] for line in lines if line.startswith("    2026-03-02") and " | " in line][:4]
    assert trail == ["open", "claimed", "answered", "closed"]
    assert "levert 2026-03-02T08:25:02Z | registrering #9" in text
    assert text.endswith("\n")

    swedish = _transcript(noark_package, fx.SV).read_text(encoding="utf-8")
    assert "#1 2026-03-31T23:59:59.500000Z | innbyggjar sv-messenger-5521 | citizen_message | Hej! Var hittar jag sophämtningsschemat?" in swedish
    assert "#2 2026-04-01T00:00:00.200000Z | innbyggjarassistenten | bot_message |" in swedish


def test_export_is_deterministic(export_db, tmp_path, monkeypatch):
    first, second, later = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    export(*MARCH, first, "noark5", url=export_db)
    export(*MARCH, second, "noark5", url=export_db)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # Another export time changes the package metadata, never the transcripts.
    monkeypatch.setenv("BOT_CLOCK", "2026-05-01T09:30:00+00:00")
    get_settings.cache_clear()
    export(*MARCH, later, "noark5", url=export_db)
    for name in files:
        if name.parts[0] == "DOKUMENT":
            assert (first / name).read_bytes() == (later / name).read_bytes(), name
    assert (first / "arkivstruktur.xml").read_bytes() != (later / "arkivstruktur.xml").read_bytes()


def test_verify_passes_on_an_untouched_package(noark_package):
    report = verify(noark_package)
    assert report.format == "noark5"
    assert report.ok and report.exit_status == 0
    assert report.differences == ()
    assert len(report.files_checked) == 5  # arkivstruktur.xml and four transcripts
    assert report.lines() == [f"noark5 package {noark_package}: all 5 checksums match"]


def test_verify_names_a_transcript_changed_by_one_byte(noark_package):
    path = _transcript(noark_package, fx.NN)
    expected = _sha256(path)
    content = bytearray(path.read_bytes())
    position = content.index(fx.NATIONAL_ID.encode())
    content[position] = ord("2")  # 15076500565 -> 25076500565, same size
    path.write_bytes(bytes(content))
    report = verify(noark_package)
    assert not report.ok and report.exit_status == 1
    relative = f"DOKUMENT/{path.name}"
    assert [(d.kind, d.path) for d in report.differences] == [("changed", relative)]
    difference = report.differences[0]
    assert difference.expected == expected
    assert difference.actual == _sha256(path)
    assert relative in "\n".join(report.lines())


def test_verify_reports_a_deleted_and_an_extra_file(noark_package):
    path = _transcript(noark_package, fx.NB)
    path.unlink()
    (noark_package / "DOKUMENT" / "notes.txt").write_text("not part of the export", encoding="utf-8")
    report = verify(noark_package)
    assert report.exit_status == 1
    assert [(d.kind, d.path) for d in report.differences] == [
        ("missing", f"DOKUMENT/{path.name}"),
        ("extra", "DOKUMENT/notes.txt"),
    ]


def test_verify_reports_a_changed_arkivstruktur_and_counts(noark_package):
    path = noark_package / "arkivstruktur.xml"
    tree = etree.parse(str(path))
    last = tree.findall(".//n:mappe", N)[-1]
    last.getparent().remove(last)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    report = verify(noark_package)
    kinds = [(d.kind, d.path, d.detail) for d in report.differences]
    assert ("changed", "arkivstruktur.xml", "") in kinds
    assert ("count", "arkivstruktur.xml", "numberOfOccurrences of mappe") in kinds
    # The removed mappe's transcript is no longer listed anywhere.
    assert ("extra", f"DOKUMENT/{_transcript(noark_package, fx.SV).name}", "") in kinds


def test_verify_reports_a_changed_size(noark_package):
    path = _transcript(noark_package, fx.SPAN)
    path.write_bytes(path.read_bytes() + b"x")
    report = verify(noark_package)
    assert [d.kind for d in report.differences] == ["changed", "size"]
    assert report.differences[1].expected == str(path.stat().st_size - 1)


def test_package_can_carry_the_official_schemas(export_db, tmp_path, arkivstruktur_schema, addml_schema):
    out = tmp_path / "uttrekk"
    summary = export(*MARCH, out, "noark5", url=export_db, schema_dir=SCHEMA_DIR)
    assert (out / "arkivstruktur.xsd").read_bytes() == (SCHEMA_DIR / "arkivstruktur.xsd").read_bytes()
    assert summary.files["metadatakatalog.xsd"] == _sha256(SCHEMA_DIR / "metadatakatalog.xsd")
    addml_schema.assertValid(etree.parse(str(out / "arkivuttrekk.xml")))
    report = verify(out)
    assert report.ok
    assert "metadatakatalog.xsd" in report.files_checked
    (out / "metadatakatalog.xsd").write_bytes(b"<changed/>")
    assert [(d.kind, d.path) for d in verify(out).differences] == [("changed", "metadatakatalog.xsd")]


def test_export_of_an_empty_period_is_valid(export_db, tmp_path, arkivstruktur_schema, addml_schema):
    out = tmp_path / "empty"
    summary = export(date(2025, 1, 1), date(2025, 1, 31), out, "noark5", url=export_db)
    assert (summary.conversations, summary.records) == (0, 0)
    arkivstruktur_schema.assertValid(etree.parse(str(out / "arkivstruktur.xml")))
    addml_schema.assertValid(etree.parse(str(out / "arkivuttrekk.xml")))
    assert verify(out).ok


def test_period_ending_on_the_export_day_is_active(export_db, tmp_path):
    out = tmp_path / "april"
    export(date(2026, 4, 1), date(2026, 4, 10), out, "noark5", url=export_db)
    tree = etree.parse(str(out / "arkivstruktur.xml"))
    assert tree.findtext(".//n:arkivdelstatus", namespaces=N) == "Aktiv periode"
    assert [m.findtext("n:mappeID", namespaces=N) for m in tree.findall(".//n:mappe", N)] == [fx.SV, fx.APRIL]


def test_export_refuses_a_non_empty_folder(export_db, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "old.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="is not empty"):
        export(*MARCH, out, "noark5", url=export_db)
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_export_rejects_bad_arguments(export_db, tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        export(*MARCH, tmp_path / "x", "pdf", url=export_db)
    with pytest.raises(ExportError, match="starts"):
        export(date(2026, 3, 31), date(2026, 3, 1), tmp_path / "y", "noark5", url=export_db)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ------------------------------------------------------------------------------------------
# JSON Lines
# ------------------------------------------------------------------------------------------


def test_jsonl_export_and_verify(export_db, tmp_path, monkeypatch):
    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    out = tmp_path / "leverans"
    summary = export(*MARCH, out, "jsonl", url=export_db)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "records.jsonl"]
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == summary.records == 20
    order = [(r["conversation_id"], r["seq"]) for r in records]
    expected_order = (
        [(fx.SPAN, s) for s in (1, 2)] + [(fx.NN, s) for s in range(1, 12)]
        + [(fx.NB, s) for s in range(1, 6)] + [(fx.SV, s) for s in (1, 2)]
    )
    assert order == expected_order
    columns = [column.key for column in ArchiveRecord.__table__.columns]
    assert all(list(record) == columns for record in records)
    personal = records[5]
    assert personal["text"] == fx.NN_PERSONAL_TEXT  # not masked
    assert personal["personal_data"] == ["national_id"]
    assert personal["occurred_at"] == "2026-03-02T08:16:30Z"
    assert personal["recorded_at"] == "2026-03-02T08:16:30.120000Z"
    assert personal["confidence"] == 0.91
    assert records[4]["text"] == fx.NN_BOT_TEXT
    correction = records[16]
    assert correction["kind"] == "feedback" and correction["corrects_id"] == records[15]["id"]

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["municipality"] == {"id": "bjorkvalla", "name": "Björkvalla kommun", "country": "SE"}
    assert manifest["period"]["from"] == "2026-03-01" and manifest["period"]["to"] == "2026-03-31"
    assert manifest["period"]["time_zone"] == "UTC"
    assert manifest["exported_at"] == "2026-04-10T12:00:00Z"
    assert manifest["counts"]["conversations"] == 4
    assert manifest["counts"]["records"] == 20
    assert manifest["counts"]["records_by_kind"]["handoff_event"] == 4
    assert manifest["files"]["records.jsonl"] == {
        "sha256": _sha256(out / "records.jsonl"),
        "bytes": (out / "records.jsonl").stat().st_size,
    }

    report = verify(out)
    assert report.format == "jsonl" and report.ok and report.files_checked == ("records.jsonl",)

    content = (out / "records.jsonl").read_bytes()
    (out / "records.jsonl").write_bytes(content.replace(fx.NATIONAL_ID.encode(), b"15076500566", 1))
    report = verify(out)
    assert report.exit_status == 1
    assert [(d.kind, d.path) for d in report.differences] == [("changed", "records.jsonl")]

    (out / "records.jsonl").unlink()
    (out / "extra.csv").write_text("a,b\n", encoding="utf-8")
    report = verify(out)
    assert [(d.kind, d.path) for d in report.differences] == [("missing", "records.jsonl"), ("extra", "extra.csv")]


def test_jsonl_verify_counts_records(export_db, tmp_path):
    out = tmp_path / "leverans"
    export(*MARCH, out, "jsonl", url=export_db)
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "records.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["records.jsonl"] = {
        "sha256": _sha256(out / "records.jsonl"),
        "bytes": (out / "records.jsonl").stat().st_size,
    }
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = verify(out)  # checksums match the edited manifest, the count does not
    assert [(d.kind, d.detail, d.expected, d.actual) for d in report.differences] == [
        ("count", "records", "20", "19")
    ]


def test_verify_without_a_package_description(tmp_path):
    (tmp_path / "random.txt").write_text("x", encoding="utf-8")
    report = verify(tmp_path)
    assert report.format is None and report.exit_status == 1
    assert "arkivuttrekk.xml" in report.lines()[0]
    assert verify(tmp_path / "nowhere").exit_status == 1


# ------------------------------------------------------------------------------------------
# Retention purge
# ------------------------------------------------------------------------------------------

PURGE_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def purge_db(archive_database_url) -> str:
    url = archive_database_url
    upgrade(url)
    with session_scope(url) as session:
        fx.populate_purge(session)
    return url


def _conversations(url: str) -> list:
    with session_scope(url) as session:
        return sorted(session.scalars(select(ArchiveRecord.conversation_id).distinct()))


def _count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_purge_is_forbidden_when_retention_is_zero(purge_db, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    before = _conversations(purge_db)
    with pytest.raises(PurgeForbidden, match="ARCHIVE_RETENTION_DAYS is 0.*forbids any purge"):
        purge(date(2026, 5, 1), "arkivar", url=purge_db, now=PURGE_NOW)
    assert _conversations(purge_db) == before
    assert _count(purge_db, PurgeLog) == 0


def test_purge_deletes_old_closed_conversations_and_logs_them(purge_db, monkeypatch, caplog):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    caplog.set_level(logging.INFO, logger="bot.archive.purge")
    summary = purge(date(2026, 5, 1), "arkivar.anne", url=purge_db, now=PURGE_NOW)

    # 1 June minus 90 days = 3 March 12:00, earlier than 1 May.
    assert summary.cutoff == datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)
    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED, fx.OLD_PLAIN]
    closed = summary.purged[0]
    assert (closed.records, closed.handoffs, closed.handoff_events, closed.outbox_messages, closed.deliveries) == (
        3, 1, 4, 1, 1,
    )
    assert summary.records_deleted == 5
    assert set(summary.kept) == {fx.OLD_OPEN, fx.LATE_CLOSE}
    assert "not closed" in summary.kept[fx.OLD_OPEN] and "'claimed'" in summary.kept[fx.OLD_OPEN]
    assert "after the cutoff" in summary.kept[fx.LATE_CLOSE]

    assert _conversations(purge_db) == sorted([fx.LATE_CLOSE, fx.OLD_OPEN, fx.RECENT])
    with session_scope(purge_db) as session:
        assert sorted(session.scalars(select(Handoff.conversation_id))) == [fx.LATE_CLOSE, fx.OLD_OPEN]
        assert session.execute(select(func.count()).select_from(HandoffEvent)).scalar_one() == 4
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(OutboxDelivery)).scalar_one() == 0
        logs = list(session.scalars(select(PurgeLog).order_by(PurgeLog.id)))
    assert [(log.conversation_id, log.records_deleted, log.actor) for log in logs] == [
        (fx.OLD_CLOSED, 3, "arkivar.anne"),
        (fx.OLD_PLAIN, 2, "arkivar.anne"),
    ]
    assert "ARCHIVE_RETENTION_DAYS=90" in logs[0].policy
    assert "2026-03-03T12:00:00Z" in logs[0].policy
    assert "1 handoff(s), 4 handoff event(s)" in logs[0].policy
    messages = [record.getMessage() for record in caplog.records]
    assert any("deleted conversation old-closed: 3 records" in message for message in messages)
    assert any("keeps conversation old-open" in message for message in messages)


def test_purge_respects_the_before_date(purge_db, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    summary = purge(date(2026, 1, 15), "arkivar", url=purge_db, now=PURGE_NOW)
    assert summary.cutoff == datetime(2026, 1, 15, tzinfo=timezone.utc)
    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED]
    assert fx.OLD_PLAIN in _conversations(purge_db)  # 20 January is not before 15 January


def test_purge_dry_run_changes_nothing(purge_db, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    summary = purge(date(2026, 5, 1), "arkivar", url=purge_db, now=PURGE_NOW, dry_run=True)
    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED, fx.OLD_PLAIN]
    assert len(_conversations(purge_db)) == 5
    assert _count(purge_db, PurgeLog) == 0
    assert "would delete 2 conversation(s)" in summary.lines()[1]


def test_purge_is_one_transaction(purge_db, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    import bot.archive.purge as purge_module

    calls = []

    def failing_log(**fields):
        calls.append(fields["conversation_id"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return PurgeLog(**fields)

    monkeypatch.setattr(purge_module, "PurgeLog", failing_log)
    with pytest.raises(RuntimeError, match="disk full"):
        purge(date(2026, 5, 1), "arkivar", url=purge_db, now=PURGE_NOW)
    assert calls == [fx.OLD_CLOSED, fx.OLD_PLAIN]
    # The first conversation's deletion was rolled back with the rest.
    assert len(_conversations(purge_db)) == 5
    assert _count(purge_db, OutboxDelivery) == 1

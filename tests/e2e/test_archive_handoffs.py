"""End to end: real conversations become archive records and handoffs; staff take over and hand back.

Staff use the operator command line (``python -m bot handoffs ...``) against the running servers;
citizens use the REST channel and read staff messages from the outbox endpoint.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.assistant import RunningAssistant, rest
from tests.e2e.conftest import TUESDAY_MORNING

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FODSELSNUMMER = "15038512363"  # valid check digits, invented person


def texts(messages):
    return " ".join(m.get("text", "") for m in messages)


def handoffs(assistant: RunningAssistant, status: str = ""):
    args = ["handoffs", "list", "--json"] + (["--status", status] if status else [])
    return json.loads(assistant.cli(*args).stdout)


def handoff_for(assistant: RunningAssistant, sender: str):
    [handoff] = [h for h in handoffs(assistant) if h["conversation_id"] == rest(sender)]
    return handoff


def archive_rows(database: Path, sender: str):
    """The archived rows of a REST sender's conversation."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT seq, kind, sender_id, text, language, intent, channel, personal_data "
                 "FROM archive_records WHERE conversation_id = :c ORDER BY seq"),
            {"c": rest(sender)},
        ).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def database_of(assistant: RunningAssistant) -> Path:
    return assistant.data_dir / "archive.db"


def test_political_question_in_nynorsk_is_queued_and_archived(saltvika):
    sender = "e2e-archive-political-nn"
    question = "kva meiner kommunen om å leggje ned skulen i bygda"
    answer = texts(saltvika.say(sender, question))
    handoff = handoff_for(saltvika, sender)
    assert (handoff["reason"], handoff["language"], handoff["status"], handoff["channel"]) == ("political", "nn", "open", "rest")
    # Created Tuesday 10:00 (fixed clock): due 24 working hours later, Wednesday 10:00 in Oslo.
    assert datetime.fromisoformat(handoff["due_at"]) == datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    rows = archive_rows(database_of(saltvika), sender)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    citizen = [r for r in rows if r["kind"] == "citizen_message"]
    assert citizen == [dict(citizen[0], text=question, intent="political_question", language="nn", channel="rest")]
    bot = [r for r in rows if r["kind"] == "bot_message"]
    assert [r["text"] for r in bot] == [answer]
    assert any(r["kind"] == "handoff_event" and r["text"] == "open" for r in rows)


def test_request_for_a_person_out_of_hours_in_swedish(bjorkvalla):
    sender = "e2e-archive-out-of-hours-sv"
    bjorkvalla.say(sender, "jag vill prata med en handläggare")
    handoff = handoff_for(bjorkvalla, sender)
    assert (handoff["reason"], handoff["language"], handoff["status"]) == ("out_of_hours", "sv", "open")
    # Friday 17:30: 6.5 working hours left on Friday, the weekend does not count: Monday 17:30.
    assert datetime.fromisoformat(handoff["due_at"]) == datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)
    kinds = [r["kind"] for r in archive_rows(database_of(bjorkvalla), sender)]
    assert kinds.count("citizen_message") == 1 and kinds.count("bot_message") == 1


def test_personal_case_with_national_id_in_bokmal_then_staff_take_over(saltvika):
    sender = "e2e-archive-case-nb"
    message = f"hei, fødselsnummeret mitt er {FODSELSNUMMER}, hva skjer med byggesøknaden min"
    reply = saltvika.say(sender, message)
    assert reply[0]["text"].startswith("Et lite råd: skriv helst ikke fødselsnummer")  # warned first
    assert "Jeg kan ikke se saker" in texts(reply)
    # Warned once only.
    assert "Et lite råd" not in texts(saltvika.say(sender, f"jeg sa {FODSELSNUMMER}, har dere fått det?"))

    handoff = handoff_for(saltvika, sender)
    assert (handoff["reason"], handoff["language"], handoff["status"]) == ("personal_case", "nb", "open")
    database = database_of(saltvika)
    first = [r for r in archive_rows(database, sender) if r["kind"] == "citizen_message"][0]
    assert first["text"] == message  # the archive keeps the original, flagged
    assert json.loads(first["personal_data"]) == ["national_id"]
    shown = json.loads(saltvika.cli("handoffs", "show", str(handoff["id"]), "--json").stdout)
    assert FODSELSNUMMER not in json.dumps(shown, ensure_ascii=False)  # staff views are masked

    # Claim: the bot falls silent and the citizen is told a person has taken over.
    saltvika.cli("handoffs", "claim", str(handoff["id"]), "--by", "kari.nordmann")
    assert [m["text"] for m in saltvika.outbox(sender)] == [
        "En ansatt har tatt over samtalen og svarer deg her. Assistenten venter så lenge."
    ]
    assert saltvika.say(sender, "hallo? er det noen der?") == []
    assert saltvika.tracker(sender)["paused"] is True

    saltvika.cli("handoffs", "reply", str(handoff["id"]), "--by", "kari.nordmann", "Hei! Saken din er under behandling.")
    assert [m["text"] for m in saltvika.outbox(sender)] == ["Hei! Saken din er under behandling."]
    assert saltvika.outbox(sender) == []  # delivered once
    assert handoff_for(saltvika, sender)["status"] == "answered"

    saltvika.cli("handoffs", "close", str(handoff["id"]), "--by", "kari.nordmann")
    assert handoff_for(saltvika, sender)["status"] == "closed"
    assert "igjen" in saltvika.outbox(sender)[0]["text"]
    assert "Bare hyggelig" in texts(saltvika.say(sender, "tusen takk for hjelpen"))

    rows = archive_rows(database, sender)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert "hallo? er det noen der?" in [r["text"] for r in rows if r["kind"] == "citizen_message"]
    assert [r["text"] for r in rows if r["kind"] == "state_change" and r["text"] in ("paused", "resumed")] == ["paused", "resumed"]
    staff = [r for r in rows if r["kind"] == "staff_message"]
    assert [r["sender_id"] for r in staff] == ["kari.nordmann"] * 3
    assert "Hei! Saken din er under behandling." in [r["text"] for r in staff]
    # The follow-up may add a reason to the open handoff ("reason_added"); the states are fixed.
    states = [r["text"] for r in rows if r["kind"] == "handoff_event" and r["text"] != "reason_added"]
    assert states == ["open", "claimed", "answered", "closed"]


def test_wrong_handoff_commands_get_clear_errors(saltvika):
    result = saltvika.cli("handoffs", "claim", "99999", "--by", "ola", check=False)
    assert result.returncode == 2 and "there is no handoff 99999" in result.stderr
    sender = "e2e-archive-wrong-order"
    saltvika.say(sender, "eg vil gjerne snakke med ein sakshandsamar")
    handoff = handoff_for(saltvika, sender)
    result = saltvika.cli("handoffs", "reply", str(handoff["id"]), "--by", "ola", "hei", check=False)
    assert result.returncode == 2 and "is open; it cannot become answered" in result.stderr


def test_kill_9_right_after_answering_loses_nothing(tmp_path):
    assistant = RunningAssistant(tmp_path / "killed", MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING).start()
    sender = "e2e-killed"
    try:
        answer = texts(assistant.say(sender, "kva er telefonnummeret til kommunen"))
    finally:
        assistant.kill()
    rows = archive_rows(database_of(assistant), sender)
    assert [r["text"] for r in rows if r["kind"] == "citizen_message"] == ["kva er telefonnummeret til kommunen"]
    assert [r["text"] for r in rows if r["kind"] == "bot_message"] == [answer]


def test_database_unreachable_during_a_conversation_loses_nothing(tmp_path):
    folder = tmp_path / "archive-disk"
    assistant = RunningAssistant(
        tmp_path / "outage", MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING,
        DATABASE_URL=f"sqlite:///{folder / 'archive.db'}", TRACKER_STORE_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
    ).start()
    sender = "e2e-outage"
    said = ["heisann, eg har eit spørsmål", "kva er telefonnummeret til kommunen", "når har de ope",
            "tusen takk for hjelpa", "ha det bra"]
    try:
        assert assistant.say(sender, said[0])
        shutil.move(folder, tmp_path / "archive-disk-away")  # the archive database is gone
        for message in said[1:4]:
            assert assistant.say(sender, message), "the citizen still gets answers"
        assert list((tmp_path / "outage" / "spool").glob("spool-*.jsonl"))
        shutil.move(tmp_path / "archive-disk-away", folder)  # and back
        assert assistant.say(sender, said[4])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and list((tmp_path / "outage" / "spool").glob("spool-*.jsonl")):
            time.sleep(1)
    finally:
        assistant.stop()
    rows = archive_rows(folder / "archive.db", sender)
    assert [r["text"] for r in rows if r["kind"] == "citizen_message"] == said
    assert len([r for r in rows if r["kind"] == "bot_message"]) >= len(said)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert len({(r["kind"], r["text"]) for r in rows if r["kind"] == "citizen_message"}) == len(said)


def test_export_of_real_conversations_validates_and_verifies(saltvika, tmp_path):
    from lxml import etree

    from bot.core.config import get_settings

    schemas = get_settings().noark5_schema_dir
    package = tmp_path / "package"
    saltvika.cli("archive", "export", "--from", "2026-01-01", "--to", "2030-12-31", "--out", str(package), "--format", "noark5")
    for document, schema in (("arkivstruktur.xml", "arkivstruktur.xsd"), ("arkivuttrekk.xml", "addml.xsd")):
        xsd = etree.XMLSchema(etree.parse(str(schemas / schema)))
        parsed = etree.parse(str(package / document))
        assert xsd.validate(parsed), f"{document}: {xsd.error_log}"
    transcripts = sorted((package / "DOKUMENT").iterdir())
    case = next(p for p in transcripts if "e2e-archive-case-nb" in p.read_text(encoding="utf-8"))
    assert FODSELSNUMMER in case.read_text(encoding="utf-8")  # the archive institution gets the complete record
    assert saltvika.cli("archive", "verify", str(package)).returncode == 0

    content = bytearray(case.read_bytes())
    content[-2] ^= 0x01  # one byte of one transcript
    case.write_bytes(bytes(content))
    result = saltvika.cli("archive", "verify", str(package), check=False)
    assert result.returncode == 1
    assert case.name in result.stdout

    jsonl = tmp_path / "jsonl"
    saltvika.cli("archive", "export", "--from", "2026-01-01", "--to", "2030-12-31", "--out", str(jsonl), "--format", "jsonl")
    assert saltvika.cli("archive", "verify", str(jsonl)).returncode == 0

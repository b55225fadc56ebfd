"""``nlu harvest`` on an archive filled the way the Rasa server fills it (events through the recorder)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.storage.db import session_scope, upgrade
from bot.archive.models import Kind
from bot.archive.models import Handoff
from bot.rasa_server.recorder import ArchiveRecorder
from bot.archive.records import append_record
from bot.nlu.check import read_examples
from bot.nlu.harvest import harvest

TUESDAY = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc).timestamp()
WEEK_BEFORE = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc).timestamp()


def user(sender, text, at, intent, confidence, language):
    return {"event": "user", "sender_id": sender, "timestamp": at, "text": text, "input_channel": "rest",
            "message_id": f"{sender}-{at}",
            "parse_data": {"intent": {"name": intent, "confidence": confidence},
                           "entities": [{"entity": "language", "value": language}]}}


def bot(sender, text, at, response):
    return {"event": "bot", "sender_id": sender, "timestamp": at, "text": text, "data": {},
            "metadata": {"utter_action": response}}


def reason(sender, value, at):
    return {"event": "slot", "sender_id": sender, "timestamp": at, "name": "handoff_reason", "value": value}


@pytest.fixture
def archive(tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    upgrade(url)
    recorder = ArchiveRecorder(url)
    t = TUESDAY
    recorder.record([
        # low confidence, then handed to staff as unanswered
        user("a", "kor kan eg kaste gamle målarspann", t, "service_question", 0.41, "nn"),
        reason("a", "unanswered", t + 0.1), bot("a", "Eg har sendt spørsmålet vidare.", t + 0.2, "utter_handoff_open"),
        # the NLU fell back
        user("b", "blæh blæh trallala", t + 1, "nlu_fallback", 0.3, "nb"),
        bot("b", "Beklager, jeg forsto ikke.", t + 1.1, "utter_default"),
        # a website answer that did not help (the thumbs-down button sends a payload)
        user("c", "hur sorterar jag gamla batterier", t + 2, "service_question", 0.93, "sv"),
        bot("c", "Batterier lämnas på återvinningscentralen.", t + 2.1, "utter_website_answer"),
        user("c", "/feedback_not_helpful", t + 2.2, "feedback_not_helpful", 1.0, "sv"),
        # personal data in a low-confidence message, seen twice
        user("d", "ring meg på 91234567, eg treng hjelp", t + 3, "request_human", 0.52, "nn"),
        user("e", "ring meg på 91234567, eg treng hjelp", t + 4, "request_human", 0.48, "nn"),
        # sure and right: not for review
        user("f", "hei hei", t + 5, "greet", 0.99, "nn"),
        # low confidence, but already a training example
        user("g", "når har de ope", t + 6, "ask_opening_hours", 0.5, "nn"),
        # staff later decided it was not political
        user("h", "kva meiner de om den nye gang- og sykkelvegen, når blir han ferdig", t + 7,
             "political_question", 0.95, "nn"),
        reason("h", "political", t + 7.1),
        # before --since
        user("old", "ein gammal og uklar melding", WEEK_BEFORE, "out_of_scope", 0.2, "nn"),
    ])
    with session_scope(url) as session:
        handoff_id = session.execute(select(Handoff.id).where(Handoff.conversation_id == "h")).scalar_one()
        append_record(session, "h", Kind.STAFF_NOTE, datetime.fromtimestamp(t + 60, tz=timezone.utc),
                      channel="staff", sender_id="kari", text="Spør om vegprosjektet. intent: service_question",
                      language="nn", data={"handoff_id": handoff_id})
    return url


def entries(path: Path):
    """(intent, text, the comment above it) of a review file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.startswith("- intent: "):
            found.append((line.split(": ", 1)[1], lines[index + 2].strip()[2:], lines[index - 1]))
    return found


def test_review_files_hold_the_messages_worth_labelling(archive, tmp_path):
    summary = harvest(date(2026, 11, 17), out_dir=tmp_path / "review", url=archive)
    nn = {text: (intent, comment) for intent, text, comment in entries(summary.files["nn"])}
    nb = {text: (intent, comment) for intent, text, comment in entries(summary.files["nb"])}
    sv = {text: (intent, comment) for intent, text, comment in entries(summary.files["sv"])}

    intent, comment = nn["kor kan eg kaste gamle målarspann"]
    assert intent == "service_question"
    assert comment.startswith("# low confidence, unanswered handoff · model guessed service_question (0.41)")

    assert nb["blæh blæh trallala"][1].startswith("# fallback, low confidence · model guessed nlu_fallback")
    assert sv["hur sorterar jag gamla batterier"][1].startswith("# thumbs down · model guessed service_question (0.93)")

    masked = "ring meg på ••••••••, eg treng hjelp"
    assert nn[masked][0] == "request_human"
    assert "0.48" in nn[masked][1] and "2 times" in nn[masked][1]
    assert not any("91234567" in path.read_text(encoding="utf-8") for path in summary.files.values())

    text = "kva meiner de om den nye gang- og sykkelvegen, når blir han ferdig"
    assert nn[text] == ("service_question", nn[text][1])
    assert "staff said service_question, model guessed political_question (0.95)" in nn[text][1]

    assert "hei hei" not in nn and "når har de ope" not in nn and "ein gammal og uklar melding" not in nn
    assert not any(t.startswith("/") for t in list(nn) + list(nb) + list(sv))
    assert summary.messages_read == 8  # typed messages since the date; the button payload is not one


def test_review_files_are_nlu_data_a_trainer_can_move_lines_from(archive, tmp_path):
    summary = harvest(date(2026, 11, 17), out_dir=tmp_path / "review", url=archive)
    for language, path in summary.files.items():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["version"] == "3.1" and isinstance(data["nlu"], list)
        problems = []
        examples = read_examples(path, language, problems)
        assert problems == []
        assert len(examples) == len(summary.candidates[language])
    lines = summary.files["nn"].read_text(encoding="utf-8").splitlines()
    (first,) = [e for e in read_examples(summary.files["nn"], "nn", []) if e.text == "kor kan eg kaste gamle målarspann"]
    assert lines[first.line - 1] == "    - kor kan eg kaste gamle målarspann"


def test_the_since_date_and_the_threshold(archive, tmp_path):
    everything = harvest(date(2026, 11, 1), out_dir=tmp_path / "all", url=archive)
    assert "ein gammal og uklar melding" in everything.files["nn"].read_text(encoding="utf-8")
    strict = harvest(date(2026, 11, 17), out_dir=tmp_path / "strict", url=archive, below=0.45)
    texts = [text for _, text, _ in entries(strict.files["nn"])]
    assert "ring meg på ••••••••, eg treng hjelp" not in texts  # 0.48 and 0.52 are not below 0.45
    assert "kor kan eg kaste gamle målarspann" in texts  # still an unanswered handoff


def test_an_empty_archive_gives_empty_review_files(tmp_path, capsys):
    from bot.ops.cli import main

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    summary = harvest(date(2026, 11, 17), out_dir=tmp_path / "review", url=url)
    assert summary.messages_read == 0
    assert yaml.safe_load(summary.files["sv"].read_text(encoding="utf-8"))["nlu"] == []
    with pytest.raises(SystemExit):
        main(["nlu", "harvest", "--since", "17.11.2026"])
    assert "is not a date like 2026-11-21" in capsys.readouterr().err

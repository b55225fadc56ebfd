"""End to end: real conversations fill the archive, and ``nlu harvest`` turns them into review files."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import create_engine, text

from bot.storage.db import session_scope
from bot.archive.models import Kind
from bot.archive.records import append_record
from bot.nlu.check import read_examples
from tests.e2e.assistant import rest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def review_entries(path):
    """(intent, text, comment) of every message in a review file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(line.split(": ", 1)[1], lines[i + 2].strip()[2:], lines[i - 1])
            for i, line in enumerate(lines) if line.startswith("- intent: ")]


def test_harvest_after_real_conversations(saltvika, tmp_path):
    # a question the website cannot answer, passed to staff: an unanswered handoff
    unanswered = "kvar kan eg kjøpe fiskekort i saltvika"
    [reply] = saltvika.say("e2e-harvest-unanswered", unanswered)
    saltvika.say("e2e-harvest-unanswered", reply["buttons"][0]["payload"])
    # a website answer the citizen says did not help
    question = "kva kostar barnehagen for ein heil plass"  # one the search answers (see test_website_answers)
    [reply] = saltvika.say("e2e-harvest-thumbs", question)
    [no] = [b for b in reply["buttons"] if b["payload"] == "/feedback_not_helpful"]
    saltvika.say("e2e-harvest-thumbs", no["payload"])
    # a political question with a phone number; staff decide it was a service question
    political = "kva meiner kommunen om den nye brua, ring meg på 41234567"
    saltvika.say("e2e-harvest-staff", political)
    [handoff] = [h for h in json.loads(saltvika.cli("handoffs", "list", "--json").stdout)
                 if h["conversation_id"] == rest("e2e-harvest-staff")]
    url = f"sqlite:///{saltvika.data_dir / 'archive.db'}"
    with session_scope(url) as session:
        append_record(session, rest("e2e-harvest-staff"), Kind.STAFF_NOTE, datetime.now(timezone.utc), channel="staff",
                      sender_id="kari", text="Gjeld brua sitt vegprosjekt. intent: service_question",
                      language="nn", data={"handoff_id": handoff["id"]})

    out = tmp_path / "review"
    since = (date.today() - timedelta(days=1)).isoformat()
    result = saltvika.cli("nlu", "harvest", "--since", since, "--out", str(out))
    assert f"-> {out / 'nn.yml'}" in result.stdout

    nn = {entry_text: (intent, comment) for intent, entry_text, comment in review_entries(out / "nn.yml")}
    assert "unanswered handoff" in nn[unanswered][1]
    assert "thumbs down" in nn[question][1]
    masked = "kva meiner kommunen om den nye brua, ring meg på ••••••••"
    intent, comment = nn[masked]
    assert intent == "service_question" and "staff said service_question, model guessed " in comment
    everything = "".join(path.read_text(encoding="utf-8") for path in out.glob("*.yml"))
    assert "41234567" not in everything and "/feedback_not_helpful" not in everything

    # every typed message the NLU was unsure about is there too, with its confidence
    engine = create_engine(url)
    with engine.connect() as connection:
        unsure = connection.execute(text(
            "SELECT text, confidence FROM archive_records WHERE kind = 'citizen_message' AND language = 'nn' "
            "AND conversation_id LIKE 'rest:e2e-harvest-%' AND confidence < 0.6 AND text NOT LIKE '/%'")).all()
    engine.dispose()
    for unsure_text, confidence in unsure:
        assert f"({confidence:.2f})" in nn[unsure_text][1]

    # the files are NLU data in the form of data/nlu
    for language in ("nn", "nb", "sv"):
        assert yaml.safe_load((out / f"{language}.yml").read_text(encoding="utf-8"))["version"] == "3.1"
        problems = []
        read_examples(out / f"{language}.yml", language, problems)
        assert problems == []

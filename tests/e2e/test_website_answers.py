"""End to end: service questions answered from the demo website through the real servers."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.assistant import rest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def texts(messages):
    return " ".join(m.get("text", "") for m in messages)


# This tests the dialogue around an answer (source, feedback, archive), with a question the search
# answers; how often questions are answered is measured in tests/test_content_quality.py. (The
# wording "kor mykje kostar det å ha ungen i barnehagen" used here before now falls just below the
# answer threshold.)
@pytest.mark.parametrize("language, question, page, helped", [
    ("nn", "kva kostar barnehagen for ein heil plass", "https://www.saltvika.kommune.no/barnehage/pris-og-moderasjon", "Ja, takk"),
])
def test_answer_from_the_website_with_source_and_feedback(saltvika, language, question, page, helped):
    sender = f"e2e-website-{language}"
    [reply] = saltvika.say(sender, question)
    assert page in reply["text"] and "Kjelde:" in reply["text"]
    snippet = reply["text"].split("\n\n")[0]
    assert 0 < len(snippet) <= 300
    # Whole sentences (or table rows) of the page: it starts and ends where one of them does.
    engine = create_engine(f"sqlite:///{saltvika.data_dir / 'archive.db'}")
    with engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT p.sentences FROM content_passages p JOIN content_pages g ON g.id = p.page_id WHERE g.url = :u"),
            {"u": page}).scalars().all()
    engine.dispose()
    sentences = [s for row in stored for s in (json.loads(row) if isinstance(row, str) else row)]
    assert any(snippet.startswith(s) for s in sentences) and any(snippet.endswith(s) for s in sentences), snippet
    assert [b["title"] for b in reply["buttons"]] == [helped, "Nei"]
    assert "Takk for tilbakemeldinga" in texts(saltvika.say(sender, reply["buttons"][0]["payload"]))

    engine = create_engine(f"sqlite:///{saltvika.data_dir / 'archive.db'}")
    with engine.connect() as connection:
        feedback = connection.execute(
            text("SELECT data FROM archive_records WHERE conversation_id = :c AND kind = 'feedback'"), {"c": rest(sender)}
        ).scalar_one()
        answer_id = json.loads(feedback)["answer_record_id"]
        answer_text = connection.execute(text("SELECT text FROM archive_records WHERE id = :i"), {"i": answer_id}).scalar_one()
    engine.dispose()
    assert json.loads(feedback)["helpful"] is True
    assert answer_text == reply["text"]


def test_no_answer_is_honest_and_offers_a_person(saltvika):
    sender = "e2e-website-none"
    [reply] = saltvika.say(sender, "kvar kan eg kjøpe fiskekort i saltvika")
    assert "ikkje noko sikkert svar" in reply["text"]
    assert "https://www.saltvika.kommune.no/sok?q=kvar+kan+eg+kj%C3%B8pe+fiskekort+i+saltvika" in reply["text"]
    assert reply["buttons"][0]["payload"] == "/request_human"
    saltvika.say(sender, reply["buttons"][0]["payload"])
    [handoff] = [h for h in json.loads(saltvika.cli("handoffs", "list", "--json").stdout) if h["conversation_id"] == rest(sender)]
    assert (handoff["reason"], handoff["language"]) == ("unanswered", "nn")

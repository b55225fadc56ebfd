"""The trainer studio's inbox over HTTP like a browser (SQLite and PostgreSQL): harvested messages,
masked and newest first, filters, the three decisions one by one and in bulk, re-deciding, a stale
decision, 403 for staff, the "misunderstood" button, and ``decided_examples``."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bot.archive.models import Kind
from bot.archive.records import append_record
from bot.privacy import mask_for_staff
from bot.staff.users import add_user, audit_log
from bot.storage.db import session_scope
from bot.training import store
from tests.staff.conftest import Client, csrf_of, put_handoff

TRAINER_PASSWORD = "trainer staple battery"
NOW = datetime.now(timezone.utc)
PHONE = " ".join(mask_for_staff("ring meg på 91234567 om søppeltømminga").split())


def citizen(url, conversation, text, *, intent, confidence, language="nb", hours_ago=1.0):
    with session_scope(url) as session:
        return append_record(session, conversation, Kind.CITIZEN_MESSAGE, NOW - timedelta(hours=hours_ago),
                             channel="rest", sender_id=conversation, text=text, language=language,
                             intent=intent, confidence=confidence).id


@pytest.fixture
def messages(db_url):
    return {
        "old": citizen(db_url, "c1", "hvor leverer jeg gamle malingsspann", intent="service_question",
                       confidence=0.41, hours_ago=5),
        "phone": citizen(db_url, "c2", "ring meg på 91234567 om søppeltømminga", intent="request_human",
                         confidence=0.5, hours_ago=3),
        "fallback": citizen(db_url, "c3", "blæh trallala hoppsann", intent="nlu_fallback", confidence=0.3,
                            language="sv", hours_ago=2),
        "sure": citizen(db_url, "c4", "tusen takk for hjelpa", intent="thank", confidence=0.99, hours_ago=1),
    }


@pytest.fixture
def trainer(server, db_url) -> Client:
    add_user("tove", "trainer", TRAINER_PASSWORD, url=db_url)
    signed_in = Client(server.base)
    assert signed_in.login("tove", TRAINER_PASSWORD).status_code == 302
    return signed_in


def texts(html: str):
    return re.findall(r'<span class="text">([^<]*)</span>', html)


def decide(client: Client, record_id: int, decision: str, intent: str = "", version: int = 0, page="/training"):
    page_html = client.get(page).text
    return client.post("/training/decide", {"csrf_token": csrf_of(page_html), "record_id": str(record_id),
                                            f"version_{record_id}": str(version), "decision": decision,
                                            "intent": intent})


def test_a_trainer_sees_the_harvested_messages_masked_and_newest_first(trainer, messages):
    page = trainer.get("/training")
    assert page.status_code == 200
    assert texts(page.text) == ["blæh trallala hoppsann", PHONE, "hvor leverer jeg gamle malingsspann"]
    assert "91234567" not in page.text and "tusen takk for hjelpa" not in page.text
    assert 'href="/training"' in page.text and "Trening" in page.text


def test_filters_by_language_and_reason(trainer, messages):
    assert texts(trainer.get("/training?language=sv").text) == ["blæh trallala hoppsann"]
    assert texts(trainer.get("/training?reason=fallback").text) == ["blæh trallala hoppsann"]
    low = texts(trainer.get("/training?reason=low_confidence&language=nb").text)
    assert len(low) == 2 and "hvor leverer jeg gamle malingsspann" in low


@pytest.mark.parametrize("decision,intent,held_out", [("example", "service_question", False),
                                                       ("held_out", "service_question", True),
                                                       ("not_useful", "", None)])
def test_each_decision_leaves_the_inbox_and_is_stored_and_logged(trainer, messages, db_url, decision, intent,
                                                                 held_out):
    answer = decide(trainer, messages["old"], decision, intent)
    assert answer.status_code == 302 and "done=1" in answer.headers["Location"]
    assert "hvor leverer jeg gamle malingsspann" not in trainer.get("/training").text
    shown = trainer.get("/training?decided=1").text
    assert "hvor leverer jeg gamle malingsspann" in shown and "tove" in shown
    made = store.decisions(db_url)[messages["old"]]
    assert (made.decision, made.decided_by, made.version) == (decision, "tove", 1)
    assert made.intent == (intent or None) and made.decided_at <= datetime.now(timezone.utc)
    log = store.changes(f"record:{messages['old']}", db_url)
    assert len(log) == 1 and log[0].user == "tove" and log[0].before is None
    assert log[0].after["decision"] == decision
    expected = [] if held_out is None else [("nb", intent, "hvor leverer jeg gamle malingsspann", held_out)]
    assert store.decided_examples(db_url) == expected
    assert any(e.action == "training_decision" and e.user == "tove" for e in audit_log(db_url))


def test_a_bulk_decision_decides_every_checked_message(trainer, messages, db_url):
    page = trainer.get("/training").text
    form = [("csrf_token", csrf_of(page)), ("decision", "example"), ("intent", "service_question")]
    for key in ("old", "phone"):
        form += [("record_id", str(messages[key])), (f"version_{messages[key]}", "0")]
    assert trainer.post("/training/decide", form).status_code == 302
    assert texts(trainer.get("/training").text) == ["blæh trallala hoppsann"]
    assert store.decided_examples(db_url) == [
        ("nb", "service_question", "hvor leverer jeg gamle malingsspann", False),
        ("nb", "service_question", PHONE, False)]


def test_deciding_again_replaces_and_the_change_log_keeps_both(trainer, messages, db_url):
    decide(trainer, messages["old"], "example", "service_question")
    decide(trainer, messages["old"], "not_useful", version=1, page="/training?decided=1")
    made = store.decisions(db_url)[messages["old"]]
    assert (made.decision, made.version) == ("not_useful", 2)
    log = store.changes(f"record:{messages['old']}", db_url)
    assert [c.after["decision"] for c in log] == ["example", "not_useful"]
    assert log[1].before["decision"] == "example"
    assert store.decided_examples(db_url) == []


def test_a_stale_decision_is_refused_naming_who_decided(trainer, admin, messages, db_url):
    stale_page = trainer.get("/training").text  # tove sees the message undecided
    assert decide(admin, messages["old"], "example", "service_question").status_code == 302
    answer = trainer.post("/training/decide", {"csrf_token": csrf_of(stale_page), "record_id": str(messages["old"]),
                                               f"version_{messages['old']}": "0", "decision": "not_useful"})
    assert answer.status_code == 302 and "error=" in answer.headers["Location"]
    shown = trainer.get(answer.headers["Location"].replace(trainer.base, "")).text
    assert "allerede bestemt av ada" in shown
    assert store.decisions(db_url)[messages["old"]].decision == "example"
    with pytest.raises(store.StaleDecision):
        store.decide(messages["old"], "not_useful", "tove", expected_version=0, url=db_url)


def test_staff_get_403_on_the_inbox_and_its_posts(staff, messages):
    assert staff.get("/training").status_code == 403
    page = staff.get("/").text
    assert 'href="/training"' not in page
    answer = staff.post("/training/decide", {"csrf_token": csrf_of(page), "record_id": str(messages["old"]),
                                             "decision": "not_useful"})
    assert answer.status_code == 403


def test_the_misunderstood_button_puts_the_message_in_the_inbox(staff, trainer, db_url):
    handoff_id = put_handoff(db_url, "conv-m", messages=("kan jeg få hjelp med byggesøknaden min",))
    page = staff.get(f"/handoffs/{handoff_id}").text
    record_id = int(re.search(r'name="record_id" value="(\d+)"', page).group(1))
    assert "kan jeg få hjelp med byggesøknaden min" not in trainer.get("/training").text
    answer = staff.post(f"/handoffs/{handoff_id}/misunderstood", {"csrf_token": csrf_of(page),
                                                                    "record_id": str(record_id)})
    assert answer.status_code == 302
    shown = trainer.get("/training?reason=marked_by_staff").text
    assert texts(shown) == ["kan jeg få hjelp med byggesøknaden min"] and "Merket av saksbehandler" in shown
    assert any(e.action == "mark_misunderstood" and e.user == "kari" for e in audit_log(db_url))


def test_staff_add_user_creates_a_trainer(archive_database_url):
    import io

    from bot.staff.users import list_users, main_add_user
    from bot.storage.db import upgrade

    upgrade(archive_database_url)
    out, err = io.StringIO(), io.StringIO()
    code = main_add_user(["tina", "--role", "trainer"], stdin=io.StringIO("a-long-passphrase-here\n"),
                         stdout=out, stderr=err, url=archive_database_url)
    assert code == 0, err.getvalue()
    assert [u.role for u in list_users(archive_database_url) if u.name == "tina"] == ["trainer"]


def test_nlu_harvest_reads_the_staff_mark(db_url):
    from bot.nlu import harvest

    handoff_id = put_handoff(db_url, "conv-h", messages=("jeg lurer på noe om eiendomsskatten min",))
    with session_scope(db_url) as session:
        from sqlalchemy import select

        from bot.archive.models import ArchiveRecord
        record_id = session.execute(select(ArchiveRecord.id).where(ArchiveRecord.conversation_id == "conv-h")
                                    ).scalar_one()
    store.mark_misunderstood(handoff_id, record_id, "kari", "marked", db_url)
    found, _ = harvest.collect((NOW - timedelta(days=2)).date(), url=db_url)
    marked = [c for c in found["nb"] if harvest.MARKED in c.reasons]
    assert [(c.text, c.latest_record_id) for c in marked] == [("jeg lurer på noe om eiendomsskatten min", record_id)]
    with pytest.raises(store.TrainingError):
        store.mark_misunderstood(handoff_id, record_id + 1000, "kari", "marked", db_url)

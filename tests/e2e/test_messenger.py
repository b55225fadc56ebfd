"""End to end: Messenger webhooks into the real assistant, answers out to a fake Graph API.

``make run`` is started with the Messenger settings pointing at ``tests.fake_graph.FakeGraph``;
the tests post signed webhook bodies in Meta's format, as Meta would, and read what the assistant
sent from the fake. Staff use the operator command line, as in ``test_archive_handoffs.py``.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.e2e.assistant import RunningAssistant
from tests.e2e.conftest import TUESDAY_MORNING
from tests.fake_graph import FakeGraph

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_SECRET = "e2e-app-secret"
VERIFY_TOKEN = "e2e-verify-token"
PAGE_TOKEN = "e2e-page-access-token"
PAGE_ID = "104857600000042"
WAIT = 60  # seconds for the assistant to answer

_mids = itertools.count(1)
#: What each citizen (PSID) sent, to compare with the archive at the end.
SENT: Dict[str, List[str]] = {}


@pytest.fixture(scope="module")
def graph():
    fake = FakeGraph(access_token=PAGE_TOKEN, app_secret=APP_SECRET, require_proof=True).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, graph):
    running = RunningAssistant(
        tmp_path_factory.mktemp("messenger"), MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING,
        MESSENGER_APP_SECRET=APP_SECRET, MESSENGER_VERIFY_TOKEN=VERIFY_TOKEN,
        MESSENGER_PAGE_ACCESS_TOKEN=PAGE_TOKEN, MESSENGER_GRAPH_URL=graph.url,
    ).start()
    yield running
    running.stop()


def webhook(assistant: RunningAssistant) -> str:
    return f"{assistant.url}/webhooks/messenger/webhook"


def deliver(assistant: RunningAssistant, *events: Dict[str, Any]) -> requests.Response:
    """Posts events the way Meta does: one page entry, signed with the app secret."""
    body = json.dumps({"object": "page", "entry": [
        {"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events)}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = requests.post(webhook(assistant), data=body, timeout=10,
                             headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert response.status_code == 200, response.text
    return response


def message(psid: str, text: str) -> Dict[str, Any]:
    SENT.setdefault(psid, []).append(text)
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"m_e2e_{next(_mids)}_{psid}", "text": text}}


def attachment(psid: str, kind: str = "image") -> Dict[str, Any]:
    SENT.setdefault(psid, []).append("/attachment_received")
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"m_e2e_{next(_mids)}_{psid}",
                        "attachments": [{"type": kind, "payload": {"url": "https://scontent.xx.fbcdn.net/v/t1.jpg"}}]}}


def answers_to(graph: FakeGraph, psid: str, count: int, timeout: float = WAIT) -> List[Dict[str, Any]]:
    """Waits until ``psid`` has received ``count`` messages; returns them."""
    sent = graph.wait_for(lambda all_sent: len([b for b in all_sent if b["recipient"]["id"] == psid]) >= count,
                          timeout)
    return [b for b in sent if b["recipient"]["id"] == psid]


def archive_rows(assistant: RunningAssistant, psid: str) -> List[Dict[str, Any]]:
    engine = create_engine(f"sqlite:///{Path(assistant.data_dir) / 'archive.db'}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT seq, kind, text, channel, language, intent, data FROM archive_records "
                 "WHERE conversation_id = :c ORDER BY seq"), {"c": psid},
        ).mappings().all()
    engine.dispose()
    return [dict(r, data=json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]) for r in rows]


def test_webhook_verification_and_signature_through_the_real_server(assistant):
    ok = requests.get(webhook(assistant), timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = requests.get(webhook(assistant), timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403
    unsigned = requests.post(webhook(assistant), json={"object": "page", "entry": []}, timeout=10)
    assert unsigned.status_code == 403


def test_nynorsk_greeting_is_answered_with_quick_replies(assistant, graph):
    psid = "8100000000000001"
    started = time.monotonic()
    deliver(assistant, message(psid, "heisann, eg har eit spørsmål"))
    assert time.monotonic() - started < 5  # acknowledged before the turn (which loads the model lazily)
    [answer] = answers_to(graph, psid, 1)
    assert answer["messaging_type"] == "RESPONSE"
    greeting = answer["message"]["text"]
    assert "den automatiske chat-assistenten til Saltvika kommune" in greeting
    assert "ope i dag 08:00–15:30" in greeting
    assert answer["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Opningstider", "payload": "/ask_opening_hours"},
        {"content_type": "text", "title": "Kontakt oss", "payload": "/ask_contact"},
        {"content_type": "text", "title": "Snakk med ein person", "payload": "/request_human"},
    ]
    # The turn was archived with the answer that was sent.
    rows = archive_rows(assistant, psid)
    assert [r["text"] for r in rows if r["kind"] == "bot_message"] == [greeting]


def test_an_emergency_inside_a_greeting_gets_the_numbers_on_messenger(assistant, graph):
    psid = "8100000000000042"
    deliver(assistant, message(psid, "hei! sonen min har svelgt eit batteri og kastar opp"))
    [answer] = answers_to(graph, psid, 1)
    text = answer["message"]["text"]
    assert "113" in text and "Giftinformasjonen 22 59 13 00" in text  # the numbers, at once
    assert "Hei og velkomen" not in text  # not only the greeting
    [citizen] = [r for r in archive_rows(assistant, psid) if r["kind"] == "citizen_message"]
    assert citizen["intent"] == "emergency" and citizen["data"]["safety"]["category"] == "emergency"


def test_quick_reply_payload_and_swedish_question(assistant, graph):
    psid = "8100000000000002"
    deliver(assistant, message(psid, "hej, när har ni öppet i dag?"))
    [answer] = answers_to(graph, psid, 1)
    reply = answer["message"]["text"]
    assert "Kontaktcenter har öppet" in reply and "08.00–15.30" in reply
    # A tapped quick reply arrives as its payload.
    event = message(psid, "Kontakta oss")
    SENT[psid][-1] = "/ask_contact"
    event["message"]["quick_reply"] = {"payload": "/ask_contact"}
    deliver(assistant, event)
    contact = answers_to(graph, psid, 2)[1]["message"]["text"]
    assert contact.startswith("Så når du Saltvika kommun")


def test_staff_reply_reaches_messenger_with_the_human_agent_tag(assistant, graph):
    psid = "8100000000000003"
    deliver(assistant, message(psid, "eg vil gjerne snakke med ein sakshandsamar"))
    [answer] = answers_to(graph, psid, 1)
    assert "Ein tilsett svarar deg her i chatten" in answer["message"]["text"]
    [handoff] = [h for h in json.loads(assistant.cli("handoffs", "list", "--json").stdout)
                 if h["conversation_id"] == psid]
    assert (handoff["reason"], handoff["channel"], handoff["language"]) == ("human_requested", "messenger", "nn")
    assistant.cli("handoffs", "claim", str(handoff["id"]), "--by", "kari.nordmann")
    assistant.cli("handoffs", "reply", str(handoff["id"]), "--by", "kari.nordmann",
                  "Hei! Eg heiter Kari, og eg ser på saka di no.")
    took_over, reply = answers_to(graph, psid, 3, timeout=30)[1:3]
    for staff_message in (took_over, reply):
        assert (staff_message["messaging_type"], staff_message["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert took_over["message"]["text"] == "Ein tilsett har teke over samtalen og svarar deg her. Assistenten ventar så lenge."
    assert reply["message"]["text"] == "Hei! Eg heiter Kari, og eg ser på saka di no."
    # While staff have the conversation, the bot is silent, and what the citizen writes is archived.
    deliver(assistant, message(psid, "takk, eg ventar"))
    time.sleep(3)
    assert len(answers_to(graph, psid, 3)) == 3
    engine = create_engine(f"sqlite:///{Path(assistant.data_dir) / 'archive.db'}")
    with engine.connect() as connection:
        deliveries = connection.execute(text(
            "SELECT d.delivered, d.detail FROM outbox_deliveries d JOIN outbox_messages m ON m.id = d.outbox_id "
            "WHERE m.conversation_id = :c ORDER BY m.id"), {"c": psid}).all()
    engine.dispose()
    assert [bool(d[0]) for d in deliveries] == [True, True]


def test_an_attachment_gets_the_only_text_reply(assistant, graph):
    psid = "8100000000000004"
    deliver(assistant, message(psid, "hej hej, jag undrar över en sak"))
    answers_to(graph, psid, 1)
    deliver(assistant, attachment(psid, "image"))
    only_text = answers_to(graph, psid, 2)[1]["message"]["text"]
    assert only_text.startswith("Tack! Jag kan tyvärr bara läsa text")
    [row] = [r for r in archive_rows(assistant, psid) if r["text"] == "/attachment_received"]
    assert row["data"]["metadata"]["attachments"] == ["image"]
    assert row["intent"] == "attachment_received"


def test_a_redelivered_message_is_answered_once(assistant, graph):
    psid = "8100000000000005"
    event = message(psid, "kva er telefonnummeret til kommunen?")
    deliver(assistant, event)
    deliver(assistant, event)  # Meta delivers again
    answers_to(graph, psid, 1)
    time.sleep(3)
    assert len(answers_to(graph, psid, 1)) == 1
    assert [r["text"] for r in archive_rows(assistant, psid) if r["kind"] == "citizen_message"] == [
        "kva er telefonnummeret til kommunen?"]


def test_the_archive_holds_every_citizen_message_with_channel_messenger(assistant):
    assert SENT, "the conversations above sent nothing"
    for psid, texts in SENT.items():
        citizen = [r for r in archive_rows(assistant, psid) if r["kind"] == "citizen_message"]
        assert [r["text"] for r in citizen] == texts, psid
        assert {r["channel"] for r in citizen} == {"messenger"}
        assert all(r["data"]["metadata"]["channel"] == "messenger" for r in citizen)

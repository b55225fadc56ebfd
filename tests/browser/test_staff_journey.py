"""Staff in Debian's Chromium against the real assistant (``make run``): a handoff from a real
conversation is claimed, answered and closed; a crisis message reaches the next greeting."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from sqlalchemy import select

from bot.storage.db import session_scope
from bot.archive.models import ArchiveRecord, Kind
from tests.browser.helpers import opening, run_axe
from tests.e2e.assistant import rest as rest_conversation

pytest.importorskip("playwright")

from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long staff password"
CRISIS = {
    "nn": "Vassleidningen i Strandvegen er broten. Kok drikkevatnet.",
    "nb": "Vannledningen i Strandveien er brutt. Kok drikkevannet.",
    "sv": "Vattenledningen på Strandvägen har gått sönder. Koka dricksvattnet.",
}


@pytest.fixture(scope="module")
def staff_user(assistant):
    name = f"kari-{uuid.uuid4().hex[:6]}"
    result = assistant.cli("staff", "add-user", name, "--role", "staff", stdin=PASSWORD + "\n")
    assert name in result.stdout
    return name


@pytest.fixture(scope="module")
def admin_user(assistant):
    """Publishing the crisis message needs the admin role."""
    name = f"anne-{uuid.uuid4().hex[:6]}"
    result = assistant.cli("staff", "add-user", name, "--role", "admin", stdin=PASSWORD + "\n")
    assert name in result.stdout
    return name


def staff_base(assistant) -> str:
    return f"http://127.0.0.1:{assistant.staff_port}"


def sign_in(page, assistant, name: str) -> None:
    page.goto(f"{staff_base(assistant)}/login")
    page.get_by_label("Brukernavn").fill(name)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Henvendelser til saksbehandler")


def archive_records(assistant, conversation_id: str):
    with session_scope(f"sqlite:///{assistant.data_dir / 'archive.db'}") as session:
        return [(r.kind, r.text) for r in session.execute(
            select(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id)
            .order_by(ArchiveRecord.seq)).scalars()]


def widget_greeting(assistant, language: str):
    """The greeting a new widget conversation gets (the server issues its id)."""
    answer = requests.post(f"{assistant.url}/webhooks/widget/webhook",
                           json={"message": "/greet", "metadata": {"language": language}}, timeout=60)
    assert answer.status_code == 200
    return "widget:" + answer.headers["X-Conversation-Id"], [m.get("text", "") for m in answer.json()]


def test_staff_claim_answer_and_close_a_handoff_from_a_real_conversation(assistant, staff_user, new_page,
                                                                         axe_source):
    sender = f"journey-{uuid.uuid4().hex[:8]}"
    question = "Eg vil snakke med eit menneske om søknaden min"
    assert assistant.say(sender, question)
    listed = json.loads(assistant.cli("handoffs", "list", "--json").stdout)
    handoffs = [h for h in listed if h["conversation_id"] == rest_conversation(sender)]
    assert len(handoffs) == 1, handoffs
    handoff_id = handoffs[0]["id"]

    page = new_page(bypass_csp=True)  # the app's CSP blocks every script, axe-core's too
    sign_in(page, assistant, staff_user)
    expect(page.locator(f'a[href="/handoffs/{handoff_id}"]')).to_be_visible()
    assert run_axe(page, axe_source) == []
    page.locator(f'a[href="/handoffs/{handoff_id}"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Henvendelse #{handoff_id}")
    expect(page.locator("td.text", has_text=question)).to_be_visible()
    assert run_axe(page, axe_source) == []

    page.get_by_role("button", name="Ta henvendelsen").click()
    expect(page.locator("[role=status]").first).to_have_text("Utført.")
    # While staff have it, the bot keeps quiet (Rasa paused the conversation) but archives the message.
    assert assistant.say(sender, "Hallo, er det nokon der?") == []

    reply = "Hei! Eg har sett på søknaden din, og du får svar innan fredag."
    page.get_by_label("Svar til innbyggeren").fill(reply)
    page.get_by_role("button", name="Send svar").click()
    expect(page.locator("[role=status]").first).to_have_text("Utført.")
    delivered = []  # the outbox hands each message out once
    deadline = time.monotonic() + 30
    while reply not in delivered and time.monotonic() < deadline:
        delivered += [m["text"] for m in assistant.outbox(sender)]
        time.sleep(0.5)
    assert delivered[0].startswith(opening("utter_staff_took_over", "nn")) and delivered[-1] == reply

    page.get_by_role("button", name="Avslutt henvendelsen").click()
    expect(page.locator("[role=status]").first).to_have_text("Utført.")
    expect(page.locator(".facts")).to_contain_text("Avsluttet")
    assert run_axe(page, axe_source) == []

    answer = assistant.say(sender, "Kva er opningstidene til servicetorget?")
    assert answer and "08:00" in " ".join(m.get("text", "") for m in answer)
    kinds = [kind for kind, _ in archive_records(assistant, rest_conversation(sender))]
    assert Kind.STAFF_MESSAGE in kinds
    texts = [text for _, text in archive_records(assistant, rest_conversation(sender))]
    assert "Hallo, er det nokon der?" in texts and reply in texts
    assert page.dialogs == [] and page.errors == []


def test_crisis_message_from_the_staff_page_comes_first_in_every_languages_greeting(assistant, admin_user,
                                                                                      new_page, axe_source):
    page = new_page(bypass_csp=True)
    sign_in(page, assistant, admin_user)
    page.get_by_role("link", name="Driftsmelding").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Driftsmelding")
    assert run_axe(page, axe_source) == []
    for lang, label in (("nn", "Tekst på nynorsk"), ("nb", "Tekst på bokmål"), ("sv", "Tekst på svensk")):
        page.get_by_label(label).fill(CRISIS[lang])
    page.get_by_role("button", name="Publiser driftsmeldingen").click()  # the default end: in a day
    expect(page.locator("[role=status]").first).to_have_text("Driftsmeldingen er oppdatert.")
    assert run_axe(page, axe_source) == []
    try:
        for lang in ("nn", "nb", "sv"):
            conversation, (first, *rest) = widget_greeting(assistant, lang)
            assert first.startswith(opening("utter_crisis", lang)) and CRISIS[lang] in first, first
            assert rest and rest[0].startswith(opening("utter_greet", lang, desk_open=True))
            assert (Kind.BOT_MESSAGE, first) in archive_records(assistant, conversation)
    finally:
        page.get_by_role("button", name="Avslutt meldingen nå").click()
        expect(page.locator("[role=status]").first).to_have_text("Driftsmeldingen er oppdatert.")
    _, (first, *_) = widget_greeting(assistant, "nb")
    assert first.startswith(opening("utter_greet", "nb", desk_open=True))
    assert page.dialogs == [] and page.errors == []

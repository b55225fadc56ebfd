"""The chat widget in a real browser, on the demo page, against the real assistant.

400 % zoom is emulated the way the browser itself does it: a 1280×800 window at 400 % lays the
page out in a 320×200 CSS-pixel viewport with 4 device pixels per CSS pixel, so the context gets
``viewport=320×200, device_scale_factor=4`` (WCAG 1.4.10 Reflow's own reference case).
"""
from __future__ import annotations

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install -c requirements.txt playwright==1.65.2")
from playwright.sync_api import expect  # noqa: E402

from tests.browser.helpers import (  # noqa: E402
    bot_messages,
    button_titles,
    choose_language,
    dialog,
    message_languages,
    open_demo,
    open_widget,
    opening,
    run_axe,
    variation,
    say,
    stored,
    wait_until_settled,
)
from tests.e2e.assistant import PROJECT_ROOT  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS = "<img src=x onerror=alert(1)>"


def test_opens_with_the_nynorsk_greeting_and_opening_hours(assistant, page, tmp_path):
    open_demo(page, assistant)
    launcher = page.locator(".mcw-launcher")
    expect(launcher).to_have_text("Chat med kommunen")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(dialog(page)).to_be_hidden()
    open_widget(page)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    panel = dialog(page)
    expect(panel).to_have_accessible_name("Chat med kommunen")
    expect(page.locator(".mcw-input")).to_be_focused()
    greeting = bot_messages(page).first
    expect(greeting).to_have_attribute("lang", "nn")
    expect(greeting).to_contain_text(opening("utter_greet", "nn", desk_open=True))
    expect(greeting).to_contain_text("08:00–15:30")  # Saltvika's hours today
    expect(greeting.get_by_role("button")).to_have_text(button_titles("utter_greet", "nn", desk_open=True))
    # The interface: labelled controls, and the polite live region that announced the greeting.
    expect(panel.get_by_role("combobox", name="Språk")).to_have_value("nn")
    expect(panel.get_by_role("option")).to_have_text(["Nynorsk", "Bokmål", "Svenska"])
    expect(panel.get_by_role("textbox", name="Skriv meldinga di")).to_be_visible()
    expect(panel.get_by_role("button", name="Send")).to_be_visible()
    expect(panel.get_by_role("button", name="Lukk")).to_be_visible()
    live = page.locator(".mcw-root [aria-live=polite]")
    expect(live).to_contain_text(opening("utter_greet", "nn", desk_open=True))
    expect(live.locator("p").last).to_have_attribute("lang", "nn")
    page.screenshot(path=str(tmp_path / "widget.png"))
    if os.environ.get("UPDATE_WIDGET_SCREENSHOT"):
        (PROJECT_ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(PROJECT_ROOT / "docs" / "widget.png"))
    assert page.errors == [] and page.dialogs == []


def test_chats_in_nynorsk_bokmal_and_swedish(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    assert opening("utter_opening_hours", "nn", desk_open=True) in say(page, "kva tid har de ope i dag?")
    assert choose_language(page, "nb") == variation("utter_language_changed", "nb")["text"]
    expect(page.locator(".mcw-launcher")).to_have_text("Chat med kommunen")
    expect(page.get_by_role("textbox", name="Skriv meldingen din")).to_be_visible()
    answer = say(page, "når har dere åpent på servicetorget?")
    assert opening("utter_opening_hours", "nb", desk_open=True) in answer and opening("utter_opening_hours", "nn", desk_open=True) not in answer
    assert choose_language(page, "sv") == variation("utter_language_changed", "sv")["text"]
    expect(page.locator(".mcw-launcher")).to_have_text("Chatta med kommunen")
    expect(page.get_by_role("button", name="Skicka")).to_be_visible()
    assert opening("utter_opening_hours", "sv", desk_open=True) in say(page, "vilka öppettider har ni?")
    # Every message is marked with its language: greeting and first exchange nn, then nb, then sv.
    assert message_languages(page) == ["nn", "nn", "nn", "nb", "nb", "nb", "sv", "sv", "sv"]
    assert page.locator(".mcw-root").get_attribute("lang") == "sv"
    assert stored(page)["lang"] == "sv"


def test_follows_the_conversation_when_the_citizen_writes_another_language(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    choose_language(page, "nb")
    # Clear Swedish after choosing Bokmål: the assistant switches (strong evidence), and the
    # widget follows it, labels and language choice included.
    assert opening("utter_opening_hours", "sv", desk_open=True) in say(page, "Hej! Jag undrar vilka öppettider ni har i kommunhuset i dag?")
    assert message_languages(page)[-1] == "sv"
    expect(page.locator(".mcw-lang-select")).to_have_value("sv")
    expect(page.get_by_role("button", name="Skicka")).to_be_visible()


def test_works_with_the_keyboard_alone(assistant, page):
    open_demo(page, assistant)
    launcher = page.locator(".mcw-launcher")
    for _ in range(60):  # Tab through the page (skip link, menu, content links) to the launcher
        page.keyboard.press("Tab")
        if launcher.evaluate("node => node === document.activeElement"):
            break
    expect(launcher).to_be_focused()
    assert launcher.evaluate("node => getComputedStyle(node).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    expect(page.locator(".mcw-input")).to_be_focused()
    expect(bot_messages(page).first).to_contain_text(opening("utter_greet", "nn", desk_open=True))
    wait_until_settled(page)
    page.keyboard.type("kva er opningstidene?")
    page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(2)
    expect(bot_messages(page).nth(1)).to_contain_text(opening("utter_opening_hours", "nn", desk_open=True))
    expect(page.locator(".mcw-input")).to_have_value("")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    title = button_titles("utter_greet", "nn", desk_open=True)[1]  # the contact button
    contact = bot_messages(page).first.get_by_role("button", name=title)
    for _ in range(10):  # back from the input to the buttons under the greeting
        page.keyboard.press("Shift+Tab")
        if contact.evaluate("node => node === document.activeElement"):
            break
    expect(contact).to_be_focused()
    assert contact.evaluate("node => getComputedStyle(node).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator(".mcw-msg--user .mcw-text").last).to_have_text(title)
    expect(bot_messages(page)).to_have_count(3)
    expect(bot_messages(page).nth(2)).to_contain_text(opening("utter_contact", "nn"))
    expect(bot_messages(page).nth(2)).to_contain_text("57 69 40 00")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")  # and open again: the conversation is still there
    expect(page.locator(".mcw-input")).to_be_focused()
    expect(bot_messages(page)).to_have_count(3)


def test_keeps_the_conversation_across_page_loads(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    say(page, "kva er telefonnummeret til kommunen?")
    before = stored(page)
    assert len(before["sender"]) == 32 and int(before["sender"], 16) >= 0
    texts = page.locator(".mcw-msg .mcw-text").all_inner_texts()
    page.reload()
    expect(dialog(page)).to_be_visible()  # it was open, so it is open again
    expect(page.locator(".mcw-msg .mcw-text")).to_have_text(texts)
    assert stored(page)["sender"] == before["sender"]
    page.wait_for_timeout(1000)
    expect(bot_messages(page)).to_have_count(2)  # no second greeting
    assert opening("utter_opening_hours", "nn", desk_open=True) in say(page, "og opningstidene?")  # the same conversation goes on
    assert before["secret"]  # issued by the server with the first answer
    assert assistant.tracker(before["sender"], channel="widget")["latest_input_channel"] == "widget"


def test_shows_a_staff_reply_marked_as_from_a_person(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    assert opening("utter_handoff_open", "nn") in say(page, "eg vil snakke med ein tilsett")
    sender = stored(page)["sender"]
    handoffs = json.loads(assistant.cli("handoffs", "list", "--json").stdout)
    [handoff] = [h for h in handoffs if h["conversation_id"] == f"widget:{sender}"]
    assert (handoff["channel"], handoff["language"], handoff["reason"]) == ("widget", "nn", "human_requested")
    assistant.cli("handoffs", "claim", str(handoff["id"]), "--by", "kari")
    assistant.cli("handoffs", "reply", str(handoff["id"]), "--by", "kari",
                  f"Hei, eg heiter Kari og arbeider på servicetorget. {XSS} Kva gjeld det?")
    staff = page.locator(".mcw-msg--staff")
    expect(staff).to_have_count(2, timeout=20_000)  # "a person has taken over", then Kari's reply
    expect(staff.first).to_have_text(re.compile(re.escape(variation("utter_staff_took_over", "nn")["text"])))
    reply = staff.last
    expect(reply.locator(".mcw-who")).to_have_text("Tilsett i kommunen (person)")
    expect(reply.locator(".mcw-text")).to_have_text(f"Hei, eg heiter Kari og arbeider på servicetorget. {XSS} Kva gjeld det?")
    expect(reply).to_have_attribute("lang", "nn")
    expect(page.locator(".mcw-root img")).to_have_count(0)
    expect(page.locator(".mcw-root [aria-live=polite]")).to_contain_text("Ny melding frå ein tilsett: Hei, eg heiter Kari")
    assistant.cli("handoffs", "close", str(handoff["id"]), "--by", "kari")
    expect(staff).to_have_count(3, timeout=20_000)  # "the assistant is back"
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_message_text_is_never_html(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    say(page, XSS)
    expect(page.locator(".mcw-msg--user .mcw-text").last).to_have_text(XSS)
    # A hostile answer (as if from a compromised server): text, titles and addresses stay text.
    hostile = [{"recipient_id": "x", "lang": "nn",
                "text": "<script>alert(2)</script> <b onmouseover=alert(3)>fet</b> javascript:alert(4) "
                        "sjå https://example.org/a?b=<i>c</i>",
                "buttons": [{"title": "<img src=x onerror=alert(5)>", "payload": "/greet"}]}]
    page.route("**/webhooks/widget/webhook", lambda route: route.fulfill(json=hostile))
    say(page, "hei")
    last = bot_messages(page).last
    expect(last.locator(".mcw-text")).to_have_text(hostile[0]["text"])
    expect(last.get_by_role("button")).to_have_text("<img src=x onerror=alert(5)>")
    expect(page.locator(".mcw-root script, .mcw-root img, .mcw-root b, .mcw-root i")).to_have_count(0)
    expect(last.locator("a")).to_have_count(1)
    assert last.locator("a").get_attribute("href").startswith("https://example.org/a?b=")
    page.wait_for_timeout(1000)
    assert page.dialogs == [] and page.errors == []


def test_errors_are_polite_and_keep_the_text(assistant, page):
    open_demo(page, assistant)
    open_widget(page)
    page.route("**/webhooks/widget/webhook", lambda route: route.abort("connectionrefused"))
    page.locator(".mcw-input").fill("kva kostar det å søkje byggjeløyve?")
    page.locator(".mcw-input").press("Enter")
    error = page.locator(".mcw-error")
    expect(error).to_contain_text("Beklagar, vi får ikkje kontakt med chatten akkurat no.")
    expect(error).to_have_attribute("lang", "nn")
    expect(page.locator(".mcw-input")).to_have_value("kva kostar det å søkje byggjeløyve?")
    expect(page.locator(".mcw-msg--user")).to_have_count(0)
    expect(page.locator(".mcw-root [aria-live=polite]")).to_contain_text("Beklagar, vi får ikkje kontakt")
    page.unroute("**/webhooks/widget/webhook")
    page.route("**/webhooks/widget/webhook", lambda route: route.fulfill(status=400, json={"error": "bad"}))
    page.locator(".mcw-lang-select").select_option("sv")  # the confirmation fails too: Swedish error
    expect(error).to_contain_text("Tyvärr kunde meddelandet inte skickas.")
    page.locator(".mcw-send").click()
    expect(error).to_contain_text("Tyvärr kunde meddelandet inte skickas.")
    expect(page.locator(".mcw-input")).to_have_value("kva kostar det å søkje byggjeløyve?")
    page.unroute("**/webhooks/widget/webhook")
    page.locator(".mcw-send").click()  # the server is back: the kept text goes, the error goes
    expect(page.locator(".mcw-msg--user .mcw-text")).to_have_text(["kva kostar det å søkje byggjeløyve?"])
    expect(error).to_be_hidden()
    expect(bot_messages(page)).to_have_count(2)
    expect(bot_messages(page).last).to_have_attribute("lang", "sv")


@pytest.mark.parametrize(
    "viewport, scale",
    [({"width": 320, "height": 640}, 1), ({"width": 320, "height": 200}, 4)],
    ids=["phone-320x640", "zoom-400-percent-of-1280x800"],
)
def test_reflows_on_a_phone_and_at_400_percent_zoom(assistant, new_page, viewport, scale):
    page = new_page(viewport=viewport, device_scale_factor=scale, has_touch=scale == 1)
    open_demo(page, assistant)
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    open_widget(page)
    box = dialog(page).bounding_box()
    assert box == {"x": 0, "y": 0, "width": viewport["width"], "height": viewport["height"]}  # full screen
    assert dialog(page).get_attribute("aria-modal") == "true"
    say(page, "kva er adressa og nettstaden til kommunen? "
              "https://www.saltvika.kommune.no/eit/svaert/langt/adresse/utan/mellomrom/som/ikkje/skal/gje/rulling")
    overflow = page.evaluate(
        "() => { const w = document.documentElement.clientWidth; const p = document.querySelector('.mcw-panel');"
        " const wide = [...p.querySelectorAll('*')].filter(n => n.getClientRects().length &&"
        " n.getBoundingClientRect().right > w + 0.5).map(n => n.className);"
        " return {page: document.documentElement.scrollWidth - w, panel: p.scrollWidth - p.clientWidth, wide}; }"
    )
    assert overflow == {"page": 0, "panel": 0, "wide": []}
    # The input stays in view and keeps the focus while answers come in; the newest answer ends
    # just above it.
    field = page.locator(".mcw-input")
    expect(field).to_be_focused()
    expect(field).to_be_in_viewport(ratio=1)
    expect(bot_messages(page).last).to_be_in_viewport()
    field_box = field.bounding_box()
    assert 0 <= field_box["x"] and field_box["x"] + field_box["width"] <= viewport["width"]
    assert opening("utter_opening_hours", "nn", desk_open=True) in say(page, "opningstider")
    send = page.locator(".mcw-send")
    send.scroll_into_view_if_needed()
    assert send.bounding_box()["x"] + send.bounding_box()["width"] <= viewport["width"]
    # Full screen the dialog is modal: Tab from the last control wraps to the first.
    send.focus()
    page.keyboard.press("Tab")
    expect(page.locator(".mcw-close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".mcw-launcher")).to_be_focused()


STYLES = (
    "() => [...document.querySelectorAll('.mcw-root, .mcw-root *')].map(n => { const s = getComputedStyle(n);"
    " return {cls: String(n.className.baseVal ?? n.className), transition: s.transitionDuration,"
    " animation: s.animationName, scroll: s.scrollBehavior}; })"
)


def styles_while_typing(page):
    """Computed motion styles of every widget element while an answer is on its way (held back)."""
    held = []
    page.route("**/webhooks/widget/webhook", lambda route: held.append(route))
    page.locator(".mcw-input").fill("kva er opningstidene?")
    page.locator(".mcw-input").press("Enter")
    status = page.get_by_role("status")
    expect(status).to_have_text("Assistenten skriv …")  # the status message (WCAG 4.1.3)
    expect(status.locator("[lang]")).to_have_attribute("lang", "nn")
    styles = page.evaluate(STYLES)
    held[0].continue_()
    page.unroute("**/webhooks/widget/webhook")
    expect(bot_messages(page)).to_have_count(2)
    expect(status).to_be_empty()
    return styles


def test_respects_reduced_motion(assistant, new_page):
    moving = new_page()
    open_demo(moving, assistant)
    open_widget(moving)
    styles = styles_while_typing(moving)
    assert any(s["transition"] != "0s" for s in styles) and any(s["animation"] == "mcw-bounce" for s in styles)

    page = new_page(reduced_motion="reduce")
    open_demo(page, assistant)
    open_widget(page)
    styles = styles_while_typing(page)
    assert any(s["cls"] == "mcw-dots" for s in styles)
    assert all(set(s["transition"].split(", ")) == {"0s"} for s in styles), styles
    assert all(s["animation"] == "none" and s["scroll"] == "auto" for s in styles), styles


def test_axe_finds_no_wcag_21_aa_violations(assistant, new_page, axe_source):
    page = new_page(bypass_csp=True)  # axe-core is injected as an inline script
    open_demo(page, assistant)
    assert run_axe(page, axe_source) == []  # closed
    staff = {"messages": [{"id": 999999, "text": "Hei, det er Kari frå servicetorget.", "author": "staff"}]}
    page.route("**/webhooks/outbox/messages*", lambda route: route.fulfill(json=staff), times=1)
    open_widget(page)
    expect(page.locator(".mcw-msg--staff")).to_have_count(1)
    say(page, "kva er kontaktinformasjonen til kommunen?")  # an answer with links
    page.locator(".mcw-choice").first.focus()
    assert run_axe(page, axe_source) == []  # open, with bot, citizen and staff messages
    page.set_viewport_size({"width": 320, "height": 640})
    wait_until_settled(page)
    assert run_axe(page, axe_source) == []  # full screen on a phone


class MunicipalPage(BaseHTTPRequestHandler):
    """A municipality's own web page on another origin, embedding the widget by its one tag."""

    html = ""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.html.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_works_embedded_in_a_page_of_another_origin(assistant, page):
    MunicipalPage.html = (
        '<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8"><title>Björkvalla kommun</title></head>'
        "<body><main><h1>Kontaktcenter</h1><p>Välkommen!</p></main>"
        f'<script src="{assistant.url}/webhooks/widget/widget.js" data-server="{assistant.url}" '
        'data-lang="sv" data-municipality="saltvika" defer></script></body></html>'
    )
    from tests.browser.conftest import OTHER_ORIGIN_PORT

    server = ThreadingHTTPServer(("127.0.0.1", OTHER_ORIGIN_PORT), MunicipalPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://localhost:{server.server_address[1]}/")
        expect(page.locator(".mcw-launcher")).to_have_text("Chatta med kommunen")
        open_widget(page)  # a CORS preflight and a cross-origin POST
        expect(bot_messages(page).first).to_contain_text(opening("utter_greet", "sv", desk_open=True))
        expect(bot_messages(page).first).to_have_attribute("lang", "sv")
        assert opening("utter_opening_hours", "sv", desk_open=True) in say(page, "när har ni öppet?")
    finally:
        server.shutdown()
        server.server_close()

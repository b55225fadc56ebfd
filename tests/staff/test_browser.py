"""The staff app in Debian's Chromium: keyboard-only sign-in and axe-core (WCAG 2.1 AA)."""
from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import axe_source, browser, new_page  # noqa: E402,F401
from tests.browser.helpers import run_axe  # noqa: E402
from tests.staff.conftest import PASSWORD, StaffServer, put_handoff  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def running(db_url):
    server = StaffServer(db_url).start()
    yield server
    server.stop()


def tab_to(page, selector: str, limit: int = 20) -> None:
    """Presses Tab until ``selector`` has the focus (fails after ``limit`` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_staff_journey_has_no_axe_violations(running, db_url, new_page, axe_source):  # noqa: F811
    # The app's Content-Security-Policy forbids every script, axe-core's too; only the test bypasses it.
    page = new_page(bypass_csp=True)
    handoff_id = put_handoff(db_url, "c-browser", reason="personal_case",
                             messages=("Fødselsnummeret mitt er 15038512363", "<script>alert(1)</script>"))
    put_handoff(db_url, "c-browser-2", reason="political", language="nn", status="claimed")

    page.goto(f"{running.base}/login")
    assert run_axe(page, axe_source) == []

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    tab_to(page, "#username")
    page.keyboard.type("kari")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Henvendelser til saksbehandler")
    assert run_axe(page, axe_source) == []

    # Filter with the keyboard: pick the reason, then submit.
    tab_to(page, "#f-reason")
    for _ in range(5):  # "", crisis, political, out_of_hours, human_requested, personal_case
        page.keyboard.press("ArrowDown")
    assert page.locator("#f-reason").input_value() == "personal_case"
    tab_to(page, ".filters button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{running.base}/?reason=personal_case&status=&language=")
    tab_to(page, f'a[href="/handoffs/{handoff_id}"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Henvendelse #{handoff_id}")
    expect(page.locator("td.text").first).to_contain_text("•••••••••••")
    expect(page.locator("td.text").nth(1)).to_have_text("<script>alert(1)</script>")
    assert page.dialogs == []
    assert run_axe(page, axe_source) == []

    # Write an internal note with the keyboard only.
    tab_to(page, "#note-text")
    page.keyboard.type("Notat fra tastaturet")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[role=status]").first).to_have_text("Utført.")
    expect(page.locator("td.text", has_text="Notat fra tastaturet")).to_be_visible()
    assert page.errors == []


def test_swedish_admin_reveal_page_has_no_axe_violations(db_url, new_page, axe_source, monkeypatch):  # noqa: F811
    from bot.core.config import get_settings
    from tests.staff.conftest import ADMIN_PASSWORD

    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    handoff_id = put_handoff(db_url, "c-sv", language="sv", messages=("Mitt personnummer är 811218-9876",))
    server = StaffServer(db_url).start()
    try:
        page = new_page(bypass_csp=True)
        page.goto(f"{server.base}/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Logga in")
        assert run_axe(page, axe_source) == []
        page.get_by_label("Användarnamn").fill("ada")
        page.get_by_label("Lösenord").fill(ADMIN_PASSWORD)
        page.get_by_label("Lösenord").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Ärenden till handläggare")
        page.goto(f"{server.base}/handoffs/{handoff_id}")
        expect(page.locator("td.text").first).not_to_contain_text("811218-9876")
        page.get_by_role("button", name="Visa personuppgifter (loggas)").click()
        expect(page.locator("td.text").first).to_contain_text("811218-9876")
        assert run_axe(page, axe_source) == []
    finally:
        server.stop()


def test_statistics_page_by_keyboard_has_no_axe_violations(db_url, new_page, axe_source, monkeypatch):  # noqa: F811
    from bot.core.config import get_settings
    from tests.staff.test_statistics import NOW, fill

    monkeypatch.setenv("BOT_CLOCK", NOW.isoformat())
    get_settings.cache_clear()
    fill(db_url)
    server = StaffServer(db_url).start()
    try:
        page = new_page(bypass_csp=True)
        page.goto(f"{server.base}/login")
        page.get_by_label("Brukernavn").fill("kari")
        page.get_by_label("Passord").fill(PASSWORD)
        page.get_by_label("Passord").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Henvendelser til saksbehandler")

        # From the menu to the period select and its button, keyboard only.
        tab_to(page, 'a[href="/statistics"]')
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Statistikk")
        assert run_axe(page, axe_source) == []
        tab_to(page, "#s-days")
        page.keyboard.press("ArrowUp")  # 30 → 7 days
        assert page.locator("#s-days").input_value() == "7"
        tab_to(page, "form.filters button")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{server.base}/statistics?days=7")
        expect(page.locator("#s-days")).to_have_value("7")
        for name in ("chart-per-day", "chart-intents", "chart-topics", "chart-feedback"):
            chart = page.locator(f'svg[aria-labelledby="{name}-title"]')
            expect(chart).to_have_attribute("role", "img")
            assert chart.bounding_box()["width"] > 200
        expect(page.get_by_role("img", name="Samtaler per dag (tallene står i tabellen under diagrammet)")).to_be_visible()
        assert run_axe(page, axe_source) == []
        assert page.errors == [] and page.dialogs == []

        # The empty state, in a period without records, is also clean.
        monkeypatch.setenv("BOT_CLOCK", "2027-06-01T12:00:00+02:00")
        get_settings.cache_clear()
        page.goto(f"{server.base}/statistics?days=7")
        expect(page.get_by_role("status")).to_contain_text("Ingen data i perioden")
        assert run_axe(page, axe_source) == []
    finally:
        server.stop()


def test_account_and_admin_pages_by_keyboard_have_no_axe_violations(running, db_url, new_page, axe_source):  # noqa: F811
    from tests.staff.conftest import ADMIN_PASSWORD

    page = new_page(bypass_csp=True)
    page.goto(f"{running.base}/login")
    page.get_by_label("Brukernavn").fill("ada")
    page.get_by_label("Passord").fill(ADMIN_PASSWORD)
    page.get_by_label("Passord").press("Enter")
    page.get_by_role("link", name="Brukere").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Brukere")
    assert run_axe(page, axe_source) == []
    tab_to(page, 'button[aria-label="Deaktiver kari"]', limit=40)
    page.keyboard.press("Enter")
    expect(page.locator("[role=status]")).to_have_text("Brukeren er deaktivert og logget ut.")
    expect(page.get_by_role("button", name="Aktiver igjen kontoen til kari")).to_be_visible()
    assert run_axe(page, axe_source) == []
    page.get_by_role("link", name="Aktivitetslogg").click()
    expect(page.get_by_role("cell", name="Deaktiverte en bruker")).to_be_visible()
    assert run_axe(page, axe_source) == []
    page.get_by_role("link", name="Min konto").click()
    page.get_by_label("Nåværende passord").fill("not my password")
    page.get_by_label("Nytt passord", exact=True).fill("a brand new passphrase")
    page.get_by_label("Gjenta det nye passordet").fill("a brand new passphrase")
    page.get_by_label("Gjenta det nye passordet").press("Enter")
    expect(page.locator("[role=alert]")).to_contain_text("Det nåværende passordet er feil.")
    assert run_axe(page, axe_source) == []
    assert page.errors == []


def test_the_crisis_page_of_staff_without_the_admin_role_has_no_axe_violations(running, new_page, axe_source):  # noqa: F811
    page = new_page(bypass_csp=True)
    page.goto(f"{running.base}/login")
    page.get_by_label("Brukernavn").fill("kari")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_label("Passord").press("Enter")
    page.get_by_role("link", name="Driftsmelding").click()
    expect(page.get_by_text("Bare administratorer kan publisere")).to_be_visible()
    expect(page.get_by_role("button", name="Publiser driftsmeldingen")).to_have_count(0)
    assert run_axe(page, axe_source) == []


def test_the_training_inbox_by_keyboard_has_no_axe_violations(running, db_url, new_page, axe_source):  # noqa: F811
    from bot.staff.users import add_user
    from tests.staff.test_training import TRAINER_PASSWORD, citizen

    add_user("tove", "trainer", TRAINER_PASSWORD, url=db_url)
    citizen(db_url, "c1", "hvor leverer jeg gamle malingsspann", intent="service_question", confidence=0.41)
    page = new_page(bypass_csp=True)
    page.goto(f"{running.base}/login")
    page.get_by_label("Brukernavn").fill("tove")
    page.get_by_label("Passord").fill(TRAINER_PASSWORD)
    page.get_by_label("Passord").press("Enter")
    page.get_by_role("link", name="Trening").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trening – innboks")
    assert run_axe(page, axe_source) == []
    tab_to(page, 'li.inbox-item button[value="not_useful"]', limit=60)
    page.keyboard.press("Enter")
    expect(page.locator("[role=status]")).to_have_text("Avgjørelsen er lagret.")
    assert run_axe(page, axe_source) == []
    assert page.errors == []

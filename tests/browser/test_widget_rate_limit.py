"""A citizen who writes faster than the conversation's limit, in Chromium against a real assistant
started with a low limit: the widget shows the server's refusal (with the emergency numbers) in
the citizen's language and keeps the text for sending again."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TUESDAY_MORNING
from tests.browser.helpers import bot_messages, open_demo, open_widget, say
from tests.e2e.assistant import RunningAssistant

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PER_CONVERSATION = 3  # the greeting and two questions


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    running = RunningAssistant(tmp_path_factory.mktemp("widget-limited"), MUNICIPALITY="saltvika",
                               BOT_CLOCK=TUESDAY_MORNING, RATE_LIMIT_PER_CONVERSATION=str(PER_CONVERSATION)).start()
    yield running
    running.stop()


def test_a_refused_message_shows_where_to_call_and_keeps_the_text(limited, page):
    open_demo(page, limited)
    open_widget(page)
    say(page, "kva er opningstidene?")
    say(page, "kor ligg rådhuset?")
    answers = bot_messages(page).count()
    page.locator(".mcw-input").fill("og kva kostar parkering?")
    page.locator(".mcw-input").press("Enter")
    error = page.locator(".mcw-error")
    expect(error).to_contain_text("Vent eit minutt og prøv igjen")
    expect(error).to_contain_text("112")
    expect(error).to_have_attribute("lang", "nn")
    expect(page.locator(".mcw-input")).to_have_value("og kva kostar parkering?")
    expect(page.locator(".mcw-root [aria-live=polite]")).to_contain_text("Vent eit minutt")
    assert bot_messages(page).count() == answers and page.errors == []

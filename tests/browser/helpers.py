"""What a citizen does with the widget, as small steps for the browser tests."""
from __future__ import annotations

import functools
import json
from typing import Dict, List

import yaml
from playwright.sync_api import Page, expect

from tests.e2e.assistant import PROJECT_ROOT, RunningAssistant

STORAGE_KEY = "municipal-chat:saltvika"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def open_demo(page: Page, assistant: RunningAssistant) -> None:
    page.goto(f"{assistant.url}/webhooks/widget/demo")
    expect(page.locator(".mcw-launcher")).to_be_visible()


def dialog(page: Page):
    return page.get_by_role("dialog")


def bot_messages(page: Page):
    return page.locator(".mcw-msg--bot")


def open_widget(page: Page) -> None:
    """Clicks the launcher and waits for the greeting."""
    page.locator(".mcw-launcher").click()
    expect(dialog(page)).to_be_visible()
    expect(bot_messages(page).first).to_be_visible()
    wait_until_settled(page)


def wait_until_settled(page: Page) -> None:
    """Waits until no answer is pending and the panel's opening transition is over."""
    expect(page.locator(".mcw-typing")).to_be_empty()
    page.wait_for_function(
        "() => { const p = document.querySelector('.mcw-panel');"
        " return !p || p.hidden || getComputedStyle(p).opacity === '1'; }"
    )


def say(page: Page, text: str) -> str:
    """Types ``text``, presses Enter and returns the text of the assistant's answer."""
    before = bot_messages(page).count()
    page.locator(".mcw-input").fill(text)
    page.locator(".mcw-input").press("Enter")
    page.wait_for_function("n => document.querySelectorAll('.mcw-msg--bot').length > n", arg=before)
    wait_until_settled(page)
    return " ".join(bot_messages(page).nth(i).locator(".mcw-text").inner_text()
                    for i in range(before, bot_messages(page).count()))


def choose_language(page: Page, language: str) -> str:
    """Picks a language in the widget and returns the assistant's confirmation."""
    before = bot_messages(page).count()
    page.locator(".mcw-lang-select").select_option(language)
    page.wait_for_function("n => document.querySelectorAll('.mcw-msg--bot').length > n", arg=before)
    wait_until_settled(page)
    return bot_messages(page).last.locator(".mcw-text").inner_text()


def stored(page: Page) -> Dict:
    return json.loads(page.evaluate(f"() => sessionStorage.getItem({json.dumps(STORAGE_KEY)})"))


def message_languages(page: Page) -> List[str]:
    return page.locator(".mcw-msg").evaluate_all("nodes => nodes.map(n => n.getAttribute('lang'))")


def run_axe(page: Page, axe_source) -> List[Dict]:
    """Runs axe-core with the WCAG 2.0/2.1 A and AA rules; returns the violations, briefly."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_source))
    result = page.evaluate(
        "async tags => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}); return r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => [n.target.join(' '), n.failureSummary])})); }",
        WCAG_21_AA,
    )
    return result


# Answers are checked against domain.yml itself (trainers edit the wording there), not copies.
@functools.lru_cache(maxsize=1)
def _responses() -> Dict:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def variation(name: str, language: str, **slots) -> Dict:
    """The variation of response ``name`` that the assistant uses in this language and state."""
    state = dict(slots, language=language)
    for candidate in _responses()[name]:
        if all(c.get("type") == "slot" and state.get(c.get("name")) == c.get("value")
               for c in candidate.get("condition") or []):
            return candidate
    raise KeyError(f"no variation of {name} for {state}")


def opening(name: str, language: str, **slots) -> str:
    """The fixed start of a response: its text up to the first {placeholder}."""
    return variation(name, language, **slots)["text"].split("{")[0].strip()


def button_titles(name: str, language: str, **slots) -> List[str]:
    return [button["title"] for button in variation(name, language, **slots).get("buttons") or []]

"""Browser tests of the chat widget: the real assistant (``make run``) and Debian's Chromium,
driven by Playwright for Python.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``; never ``playwright install``), the
``playwright`` package in ``.venv`` and axe-core from the npm registry under ``.venv/axe``
(``npm install --prefix .venv/axe --no-save axe-core@4.14.1``); ``CHROMIUM`` and ``AXE_CORE_JS``
point elsewhere if needed.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.assistant import PROJECT_ROOT, RunningAssistant, free_port

TUESDAY_MORNING = "2026-11-17T10:00:00+01:00"  # Saltvika's desk is open 08:00-15:30
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE_CORE_JS = Path(
    os.environ.get("AXE_CORE_JS", "") or PROJECT_ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
)
DESKTOP = {"width": 1280, "height": 800}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's Chromium, Playwright)")


#: The port of the municipal page of another origin that embeds the widget
#: (test_widget.py); CORS allows only the origins configured when the assistant starts.
OTHER_ORIGIN_PORT = free_port()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """Saltvika on a Tuesday morning (desk open), started with ``make run``."""
    running = RunningAssistant(
        tmp_path_factory.mktemp("widget"), MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING,
        CORS_ORIGINS=f"https://www.saltvika.kommune.no http://localhost:{OTHER_ORIGIN_PORT}"
    ).start()
    yield running
    running.stop()


# Module scope, not session: while Playwright's sync API runs, its event loop counts as running
# in this thread, and pytest-asyncio could not run the async tests of later modules.
@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: .venv/bin/pip install -c requirements.txt playwright==1.65.2")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Opens pages in fresh browser contexts (own sessionStorage); records every JS dialog."""
    contexts = []

    def make(**options):
        from playwright.sync_api import expect

        expect.set_options(timeout=30_000)
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.dialogs = []
        page.errors = []

        def on_dialog(dialog):
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    if not AXE_CORE_JS.exists():
        pytest.fail(f"axe-core is missing at {AXE_CORE_JS}: npm install --prefix .venv/axe --no-save axe-core@4.14.1")
    return AXE_CORE_JS

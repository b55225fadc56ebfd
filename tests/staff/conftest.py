"""A real staff app on a free 127.0.0.1 port with a temporary SQLite archive."""
from __future__ import annotations

import asyncio
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest
import requests

from bot.storage.db import session_scope, upgrade
from bot.archive.models import Kind
from bot.archive.models import HandoffEvent
from bot.archive.records import append_record
from bot.core.config import get_settings
from bot.handoff import queue
from bot.municipality import load_municipality
from bot.staff.users import add_user
from tests.ports import free_port  # noqa: F401  (also imported from here by other tests)

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin staple battery"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's Chromium, Playwright)")



class StaffServer:
    """Runs ``create_app(url)`` in a thread with its own event loop."""

    def __init__(self, url: str, **options):
        from sanic import Sanic

        from bot.staff.app import create_app

        # Several apps start in one process here; Sanic's test mode lets its start-up
        # optimisation (TouchUp) run more than once.
        Sanic.test_mode = True
        self.app = create_app(url, **options)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            self.app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                   access_log=False)
        )
        self.loop.run_until_complete(self.server.startup())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> "StaffServer":
        self.thread.start()
        assert self.ready.wait(20), "the staff app did not start"
        return self

    def stop(self) -> None:
        async def shutdown():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Client:
    """A browser-like client: keeps cookies, sends forms with the page's CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.base + path, data=data, timeout=30, **kwargs)

    def login(self, name: str, password: str):
        page = self.get("/login")
        return self.post("/login", {"csrf_token": csrf_of(page.text), "username": name, "password": password})

    def submit(self, page_path: str, action: str, **fields):
        """Loads ``page_path``, then posts ``fields`` plus its CSRF token to ``action``."""
        page = self.get(page_path)
        assert page.status_code == 200, page.text
        return self.post(action, dict(fields, csrf_token=csrf_of(page.text)))


@pytest.fixture
def db_url(archive_database_url) -> str:
    url = archive_database_url
    upgrade(url)
    add_user("kari", "staff", PASSWORD, url=url)
    add_user("ada", "admin", ADMIN_PASSWORD, url=url)
    return url


@pytest.fixture
def server(db_url):
    running = StaffServer(db_url).start()
    yield running
    running.stop()


@pytest.fixture
def client(server) -> Client:
    return Client(server.base)


@pytest.fixture
def staff(server) -> Client:
    signed_in = Client(server.base)
    assert signed_in.login("kari", PASSWORD).status_code == 302
    return signed_in


@pytest.fixture
def admin(server) -> Client:
    signed_in = Client(server.base)
    assert signed_in.login("ada", ADMIN_PASSWORD).status_code == 302
    return signed_in


def put_handoff(url: str, conversation_id: str, *, reason: str = "human_requested", language: str = "nb",
                channel: str = "rest", messages=("Hei, jeg trenger hjelp",), status: str = "open",
                created_at: Optional[datetime] = None, claimed_by: str = "kari") -> int:
    """Archives the citizen's messages and opens a handoff (optionally already claimed)."""
    created_at = created_at or datetime.now(timezone.utc) - timedelta(hours=1)
    municipality = load_municipality()
    with session_scope(url) as session:
        record = None
        for text in messages:
            from bot.privacy import kinds

            record = append_record(session, conversation_id, Kind.CITIZEN_MESSAGE, created_at, channel=channel,
                                   sender_id=conversation_id, text=text, language=language,
                                   personal_data=kinds(text) or None)
        handoff = queue.open_handoff(
            session, conversation_id=conversation_id, reason=reason, language=language, channel=channel,
            created_at=created_at, record_id=record.id if record else None, municipality=municipality,
            due_hours=get_settings().handoff_due_hours,
        )
        if status in ("claimed", "answered", "closed"):
            session.add(HandoffEvent(handoff_id=handoff.id, status="claimed", actor=claimed_by, at=created_at))
        if status in ("answered", "closed"):
            session.add(HandoffEvent(handoff_id=handoff.id, status="answered", actor=claimed_by, at=created_at))
        if status == "closed":
            session.add(HandoffEvent(handoff_id=handoff.id, status="closed", actor=claimed_by, at=created_at))
        session.flush()
        return handoff.id

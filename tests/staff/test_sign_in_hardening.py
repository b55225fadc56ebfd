"""The sign-in limit is shared by every staff app process and keyed on the real client behind the
documented proxy; behind TLS the session cookie is Secure and HSTS is sent (real app, real HTTP)."""
from __future__ import annotations

import pytest

from bot.core.config import get_settings
from tests.staff.conftest import PASSWORD, Client, StaffServer


@pytest.fixture
def behind_proxy(db_url, monkeypatch):
    monkeypatch.setenv("STAFF_PROXIES_COUNT", "1")
    get_settings.cache_clear()
    running = StaffServer(db_url).start()
    yield running
    running.stop()
    get_settings.cache_clear()


class ForwardedClient(Client):
    """A client as the proxy forwards it: its own address, over TLS. The test talks plain HTTP to
    the app, as the proxy does, so the Secure cookies are kept and sent by hand."""

    def __init__(self, base: str, address: str):
        super().__init__(base)
        self.http.headers.update({"X-Forwarded-For": address, "X-Forwarded-Proto": "https"})
        self.jar = {}

    def _keep(self, answer):
        for cookie in answer.cookies:
            self.jar[cookie.name] = cookie.value
        return answer

    def get(self, path, **kwargs):
        return self._keep(super().get(path, cookies=dict(self.jar), **kwargs))

    def post(self, path, data=None, **kwargs):
        return self._keep(super().post(path, data=data, cookies=dict(self.jar), **kwargs))


def test_the_limit_is_shared_by_two_processes(db_url, server):
    other = StaffServer(db_url).start()  # a second staff app on the same database
    try:
        first, second = Client(server.base), Client(other.base)
        for attempt in range(4):
            assert (first if attempt % 2 else second).login("kari", f"wrong {attempt}").status_code == 401
        assert second.login("kari", "wrong 5").status_code == 429
        assert first.login("kari", PASSWORD).status_code == 429  # the other process knows
    finally:
        other.stop()


def test_failing_from_another_address_does_not_lock_out_a_colleague(behind_proxy):
    attacker = ForwardedClient(behind_proxy.base, "203.0.113.7")
    for attempt in range(6):
        attacker.login("kari", f"wrong {attempt}")
    assert attacker.login("kari", PASSWORD).status_code == 429
    kari = ForwardedClient(behind_proxy.base, "198.51.100.20")
    assert kari.login("kari", PASSWORD).status_code == 302


def test_behind_tls_the_cookie_is_secure_and_hsts_is_sent(behind_proxy):
    kari = ForwardedClient(behind_proxy.base, "198.51.100.20")
    answer = kari.login("kari", PASSWORD)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "staff_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_the_proxy_setting_forwarded_headers_are_ignored(server):
    spoofed = ForwardedClient(server.base, "192.0.2.1")
    answer = spoofed.get("/login")
    assert "Strict-Transport-Security" not in answer.headers
    for attempt in range(5):
        spoofed.login("kari", f"wrong {attempt}")
    # The limit holds for the real address, whatever the header claims.
    assert ForwardedClient(server.base, "192.0.2.99").login("kari", PASSWORD).status_code == 429

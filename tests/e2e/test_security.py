"""The assistant as an attacker on the network sees it: no open HTTP API, no secret on a command
line, servers on loopback unless told otherwise, and CORS only for configured origins.

Driven against the servers ``make run`` starts (the session's Saltvika assistant)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.assistant import API_SECRET, api_headers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("method, path", [
    ("GET", "/conversations/someone/tracker"),
    ("POST", "/conversations/someone/tracker/events"),
    ("PUT", "/model"),
    ("POST", "/model/parse"),
    ("GET", "/status"),
])
def test_the_http_api_refuses_requests_without_a_token(saltvika, method, path):
    response = requests.request(method, saltvika.url + path, json={"event": "pause"}, timeout=30)
    assert response.status_code == 401, response.text
    # Rasa's URL token is not accepted either: a secret in a URL ends up in logs and histories.
    with_query = requests.request(method, saltvika.url + path, params={"token": API_SECRET},
                                  json={"event": "pause"}, timeout=30)
    assert with_query.status_code == 401


def test_a_forged_token_is_refused_and_ours_accepted(saltvika):
    from bot.handoff.rasa_api import auth_headers

    forged = requests.get(f"{saltvika.url}/status", headers=auth_headers("not-the-secret"), timeout=30)
    assert forged.status_code == 401
    assert requests.get(f"{saltvika.url}/status", headers=api_headers(), timeout=30).status_code == 200


def test_no_secret_on_any_command_line(saltvika):
    group = saltvika.process.pid
    seen = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) != group:  # the process group of make run
            continue
        seen += 1
        assert API_SECRET not in command, command
        assert "--auth-token" not in command and "--jwt-secret" not in command, command
    assert seen >= 3  # make, the launcher and the servers


def _listening_addresses(port: int):
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: listening
                found.add(address)
    return found


def test_every_server_listens_on_loopback_only(saltvika):
    for port in (saltvika.rasa_port, saltvika.actions_port, saltvika.staff_port):
        addresses = _listening_addresses(port)
        assert addresses and addresses <= {"0100007F", "00000000000000000000000001000000"}, (port, addresses)


def test_cors_is_not_granted_to_another_origin(saltvika):
    response = requests.options(
        f"{saltvika.url}/webhooks/rest/webhook", timeout=30,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert response.headers.get("Access-Control-Allow-Origin") not in ("*", "https://evil.example")

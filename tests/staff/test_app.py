"""The staff web app over real HTTP: sign-in, sessions, CSRF, the queue pages, CSV, audit log."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.storage.db import session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import OutboxMessage
from bot.core.config import get_settings
from bot.dialogue.crisis import CrisisMessage
from bot.staff.models import StaffSession
from bot.staff.users import audit_log
from tests.staff.conftest import ADMIN_PASSWORD, PASSWORD, Client, StaffServer, free_port, put_handoff

NATIONAL_ID = "15038512363"


# ---- sign-in, sessions, rate limit, CSRF ---------------------------------------------------

def test_sign_in_success_sets_a_strict_httponly_session_cookie(client):
    response = client.login("kari", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Henvendelser til saksbehandler" in page.text and "kari" in page.text
    assert page.text.startswith("<!DOCTYPE html>") and '<html lang="nb">' in page.text


def test_sign_in_failure_says_so_and_gives_no_session(client, db_url):
    response = client.login("kari", "wrong password")
    assert response.status_code == 401
    assert "Feil brukernavn eller passord." in response.text
    assert "staff_session" not in client.http.cookies
    assert client.get("/").status_code == 302
    assert [(row.user, row.action) for row in audit_log(db_url)][-1] == ("kari", "login_failed")


def test_login_rate_limit_after_five_failures(client, server):
    for attempt in range(4):
        assert client.login("kari", f"wrong {attempt}").status_code == 401
    fifth = client.login("kari", "wrong 5")
    assert fifth.status_code == 429
    assert "For mange mislykkede innlogginger" in fifth.text
    # Even the right password is refused while the limit holds, and no session is made.
    blocked = client.login("kari", PASSWORD)
    assert blocked.status_code == 429 and "staff_session" not in client.http.cookies
    # Another user name from the same address is not blocked.
    assert client.login("ada", ADMIN_PASSWORD).status_code == 302
    # After 15 minutes the name may try again.
    limiter = server.app.ctx.limiter
    original = limiter.now
    limiter.now = lambda: original() + 15 * 60 + 1
    assert Client(server.base).login("kari", PASSWORD).status_code == 302


def test_login_form_needs_its_csrf_token(client):
    client.get("/login")
    response = client.post("/login", {"username": "kari", "password": PASSWORD})
    assert response.status_code == 403
    assert "staff_session" not in client.http.cookies


def test_session_expires_after_eight_idle_hours(staff, db_url):
    assert staff.get("/").status_code == 200
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).values(last_seen=datetime.now(timezone.utc) - timedelta(hours=8, minutes=1)))
    response = staff.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?expired=1"
    assert "Økten er utløpt" in staff.get("/login?expired=1").text
    # The expired session stays dead.
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).values(last_seen=datetime.now(timezone.utc)))
    assert staff.get("/").status_code == 302


def test_sign_out_ends_the_session(staff):
    token = staff.http.cookies["staff_session"]
    response = staff.submit("/", "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login?out=1"
    replay = Client(staff.base)
    replay.http.cookies.set("staff_session", token)
    assert replay.get("/").status_code == 302


def test_post_without_or_with_a_wrong_csrf_token_is_rejected(staff, db_url):
    handoff_id = put_handoff(db_url, "c-csrf", status="claimed")
    for data in ({"text": "note"}, {"text": "note", "csrf_token": "forged"}):
        response = staff.post(f"/handoffs/{handoff_id}/note", data)
        assert response.status_code == 403
        assert "Skjemaet var utløpt eller ugyldig" in response.text
    with session_scope(db_url) as session:
        assert session.execute(select(ArchiveRecord).where(ArchiveRecord.kind == Kind.STAFF_NOTE)).first() is None


def test_every_route_refuses_a_request_without_a_session(server, db_url):
    handoff_id = put_handoff(db_url, "c-walk")
    anonymous = Client(server.base)
    anonymous.http.cookies.set("staff_session", "not-a-real-session")
    for client in (Client(server.base), anonymous):
        for path in ("/", "/?status=open", f"/handoffs/{handoff_id}", "/handoffs/999", "/crisis", "/statistics",
                     "/statistics?days=7", "/training", "/training?decided=1"):
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        assert client.get("/handoffs.csv").status_code == 401
        for action in ("claim", "reply", "note", "close", "reveal", "misunderstood"):
            response = client.post(f"/handoffs/{handoff_id}/{action}", {"text": "x", "csrf_token": "x"})
            assert response.status_code == 401, action
        for path in ("/crisis", "/crisis/end", "/training/decide"):
            assert client.post(path, {"nn": "x", "csrf_token": "x"}).status_code == 401, path
        for path in ("/account", "/admin/users", "/admin/audit", "/admin/audit?user=ada&page=2"):
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        assert client.get("/admin/audit.csv").status_code == 401
        for path in ("/account/password", "/admin/users/disable", "/admin/users/enable", "/admin/users/end-sessions",
                     "/admin/users/password"):
            response = client.post(path, {"name": "ada", "new_password": "x" * 20, "new_password_repeat": "x" * 20,
                                          "current_password": "x", "csrf_token": "x"})
            assert response.status_code == 401, path
        assert client.post("/logout", {"csrf_token": "x"}).status_code == 401
    # Every route the app has is in the walk above (or public).
    names = {route.name.split(".")[-1] for route in server.app.router.routes}
    assert names == {"static_css", "login_form", "login", "logout", "handoff_list", "export_csv", "conversation",
                     "reveal", "claim", "reply", "close", "note", "crisis", "crisis_publish", "crisis_end",
                     "statistics", "account", "account_password", "admin_users", "admin_user_action", "admin_audit",
                     "audit_csv", "training_inbox", "training_decide", "misunderstood"}
    assert Client(server.base).get("/static/staff.css").status_code == 200
    with session_scope(db_url) as session:
        assert session.execute(select(ArchiveRecord).where(ArchiveRecord.kind == Kind.STAFF_NOTE)).first() is None
        assert session.execute(select(CrisisMessage)).first() is None
    assert [r.action for r in audit_log(db_url)] == []  # nothing was done, so nothing was logged


def test_security_headers(staff):
    response = staff.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


# ---- the list ------------------------------------------------------------------------------

def test_list_sorted_by_due_time_with_deadline_in_words(staff, db_url):
    now = datetime.now(timezone.utc)
    late = put_handoff(db_url, "c-late", reason="political", created_at=now - timedelta(days=10))
    new = put_handoff(db_url, "c-new", reason="unanswered", created_at=now - timedelta(minutes=5))
    closed = put_handoff(db_url, "c-closed", status="closed")
    page = staff.get("/").text
    assert page.index(f"/handoffs/{late}\"") < page.index(f"/handoffs/{new}\"")
    assert f"/handoffs/{closed}\"" not in page
    assert "Frist passert" in page and "Politisk spørsmål" in page and "Ubesvart" in page
    assert "10 d" in page and "5 min" in page
    assert '<th scope="col">' in page and "<caption>" in page


def test_list_filters(staff, db_url):
    a = put_handoff(db_url, "c-a", reason="political", language="nn")
    b = put_handoff(db_url, "c-b", reason="personal_case", language="sv", status="claimed")
    c = put_handoff(db_url, "c-c", reason="personal_case", language="nb", status="closed")

    def shown(query):
        page = staff.get("/" + query)
        assert page.status_code == 200
        return {h for h in (a, b, c) if f'href="/handoffs/{h}"' in page.text}

    assert shown("") == {a, b}
    assert shown("?reason=personal_case") == {b}
    assert shown("?status=closed") == {c}
    assert shown("?status=claimed") == {b}
    assert shown("?language=nn") == {a}
    assert shown("?reason=personal_case&status=closed&language=nb") == {c}
    assert shown("?reason=nonsense&status=bogus") == {a, b}
    page = staff.get("/?reason=personal_case").text
    assert '<label for="f-reason">' in page and '<option value="personal_case" selected>' in page
    assert 'href="/handoffs.csv?reason=personal_case"' in page


def test_csv_export_has_the_filtered_list_and_no_personal_data(staff, db_url):
    a = put_handoff(db_url, "47912345678", reason="personal_case",
                    messages=(f"Mitt fødselsnummer er {NATIONAL_ID}, e-post ola@example.no",))
    put_handoff(db_url, "c-other", reason="political")
    response = staff.get("/handoffs.csv?reason=personal_case")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [a]
    assert rows[0]["reason"] == "personal_case" and rows[0]["deadline"] in ("ok", "near", "missed", "met")
    for secret in (NATIONAL_ID, "ola@example.no", "47912345678", "fødselsnummer"):
        assert secret not in response.text
    assert [r.action for r in audit_log(db_url)][-1] == "export_csv"


# ---- the conversation ----------------------------------------------------------------------

def test_transcript_is_masked_and_each_view_is_audited(staff, db_url):
    handoff_id = put_handoff(db_url, "c-pd", messages=(f"Fødselsnummeret mitt er {NATIONAL_ID}",))
    page = staff.get(f"/handoffs/{handoff_id}")
    assert page.status_code == 200
    assert NATIONAL_ID not in page.text and "•••••••••••" in page.text
    assert "Vis personopplysninger" not in page.text  # staff may not reveal
    views = [(r.user, r.action, r.conversation_id) for r in audit_log(db_url) if r.action == "view_transcript"]
    assert views == [("kari", "view_transcript", "c-pd")]
    refused = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/reveal")
    assert refused.status_code == 403 and NATIONAL_ID not in refused.text
    assert "reveal" not in [r.action for r in audit_log(db_url)]


def test_admin_reveal_shows_the_text_and_writes_the_audit_log(admin, db_url):
    handoff_id = put_handoff(db_url, "c-reveal", messages=(f"Fødselsnummeret mitt er {NATIONAL_ID}",))
    response = admin.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/reveal")
    assert response.status_code == 200
    assert NATIONAL_ID in response.text and "Visningen er logget" in response.text
    log = [(r.user, r.action, r.conversation_id) for r in audit_log(db_url)]
    assert ("ada", "view_transcript", "c-reveal") in log
    assert log[-1] == ("ada", "reveal", "c-reveal")
    # A plain view afterwards is masked again.
    assert NATIONAL_ID not in admin.get(f"/handoffs/{handoff_id}").text


def test_citizen_html_is_shown_as_text(staff, db_url):
    attack = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    handoff_id = put_handoff(db_url, "c-xss", messages=(attack,))
    page = staff.get(f"/handoffs/{handoff_id}").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_reply_and_note_on_a_claimed_handoff(staff, db_url):
    handoff_id = put_handoff(db_url, "c-reply", status="claimed")
    page = staff.get(f"/handoffs/{handoff_id}").text
    assert 'for="reply-text"' in page and 'for="note-text"' in page
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/reply", text="Hei! Saken er under behandling.")
    assert response.status_code == 302 and response.headers["Location"] == f"/handoffs/{handoff_id}?done=reply"
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/note", text="Ringte innbyggeren.")
    assert response.status_code == 302
    page = staff.get(f"/handoffs/{handoff_id}?done=note").text
    assert "Utført." in page and "Besvart" in page
    assert "Hei! Saken er under behandling." in page and "Ringte innbyggeren." in page and "Internt notat" in page
    with session_scope(db_url) as session:
        outbox = [m.text for m in session.execute(select(OutboxMessage)).scalars()]
        notes = session.execute(select(ArchiveRecord).where(ArchiveRecord.kind == Kind.STAFF_NOTE)).scalars().all()
        assert outbox == ["Hei! Saken er under behandling."]  # the note is not sent to the citizen
        assert [(n.text, n.sender_id, n.conversation_id) for n in notes] == [("Ringte innbyggeren.", "kari", "c-reply")]
    actions = [r.action for r in audit_log(db_url)]
    assert "reply" in actions and "note" in actions


def test_queue_errors_are_shown_on_the_page(staff, db_url):
    handoff_id = put_handoff(db_url, "c-open")
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/reply", text="Hei")
    assert response.status_code == 409
    assert f"Henvendelse #{handoff_id} har status «Åpen» og kan ikke få status «Besvart»." in response.text
    assert 'role="alert"' in response.text
    empty = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/note", text="   ")
    assert empty.status_code == 409 and "Notatet er tomt." in empty.text


@pytest.mark.parametrize("action", ["claim", "close"])
def test_claim_and_close_show_a_clear_error_when_rasa_is_unreachable(staff, db_url, monkeypatch, action):
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    handoff_id = put_handoff(db_url, f"c-{action}")
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/{action}")
    assert response.status_code == 409
    assert "Får ikke kontakt med assistenten (Rasa-serveren). Henvendelsen er ikke endret." in response.text
    assert "Åpen" in response.text


def test_messenger_window_error_is_shown(staff, db_url):
    old = datetime.now(timezone.utc) - timedelta(days=9)
    handoff_id = put_handoff(db_url, "psid-1", channel="messenger", status="claimed", created_at=old)
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/reply", text="Hei")
    assert response.status_code == 409
    assert "innen 7 dager" in response.text and "Ingenting ble sendt." in response.text


def test_unknown_handoff_is_a_404_page(staff):
    response = staff.get("/handoffs/4242")
    assert response.status_code == 404 and "Fant ikke siden." in response.text


def test_swedish_municipality_gets_a_swedish_ui(db_url, monkeypatch):
    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    running = StaffServer(db_url).start()
    try:
        client = Client(running.base)
        login = client.get("/login").text
        assert '<html lang="sv">' in login and "Användarnamn" in login and "Hoppa till huvudinnehållet" in login
        assert client.login("kari", PASSWORD).status_code == 302
        assert "Ärenden till handläggare" in client.get("/").text
    finally:
        running.stop()


def test_csv_cells_cannot_become_spreadsheet_formulas(staff, db_url):
    put_handoff(db_url, "c-formula", status="claimed", claimed_by="=HYPERLINK(\"http://x\")")
    rows = list(csv.DictReader(io.StringIO(staff.get("/handoffs.csv").text)))
    assert rows[0]["claimed_by"].startswith("'=")


class _Received(list):
    """Requests the fake Rasa server got, with their Authorization headers."""


FAKE_RASA_SECRET = "a-secret-only-this-test-knows-0123456789"


@pytest.fixture
def fake_rasa(monkeypatch):
    """A stand-in for the Rasa server's tracker events endpoint; records what it was sent."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received = _Received()
    authorizations: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, json.loads(body)))
            authorizations.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("RASA_JWT_SECRET", FAKE_RASA_SECRET)
    get_settings.cache_clear()
    received.authorizations = authorizations
    yield received
    httpd.shutdown()


def test_claim_then_close_through_the_pages(staff, db_url, fake_rasa):
    handoff_id = put_handoff(db_url, "c-flow")
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/claim")
    assert response.status_code == 302, response.text
    page = staff.get(f"/handoffs/{handoff_id}?done=claim").text
    assert "Utført." in page and 'for="reply-text"' in page
    response = staff.submit(f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/close")
    assert response.status_code == 302, response.text
    page = staff.get(f"/handoffs/{handoff_id}").text
    assert "Avsluttet" in page and "/close" not in page and "/claim" not in page
    assert [(path, body["event"]) for path, body in fake_rasa] == [
        ("/conversations/c-flow/tracker/events", "pause"), ("/conversations/c-flow/tracker/events", "resume")]
    # The API secret signs a short-lived token in the header; it is never in the URL.
    import jwt

    for header in fake_rasa.authorizations:
        assert header.startswith("Bearer ")
        claims = jwt.decode(header.split(" ", 1)[1], FAKE_RASA_SECRET, algorithms=["HS256"])
        assert claims["user"]["role"] == "admin" and claims["exp"] - claims["iat"] <= 60
    assert len(fake_rasa.authorizations) == 2
    with session_scope(db_url) as session:
        assert len(session.execute(select(OutboxMessage)).scalars().all()) == 2  # took over, left
    assert [r.action for r in audit_log(db_url) if r.action in ("claim", "close")] == ["claim", "close"]

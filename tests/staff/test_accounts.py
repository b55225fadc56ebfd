"""Account management over real HTTP: disable and enable users, passwords, sessions, the audit log.

Every test drives the staff app as a browser would (sign in, the page's CSRF token, POST forms)
against a real database (SQLite, and PostgreSQL when the test services run).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.storage.db import session_scope
from bot.municipality import load_municipality
from bot.staff import users
from bot.staff.models import StaffAuditLog, StaffSession, StaffUser
from bot.staff.users import add_user, audit_log
from tests.staff.conftest import ADMIN_PASSWORD, PASSWORD, Client

NEW_PASSWORD = "a brand new passphrase"
ADMIN_ROUTES = ("/admin/users", "/admin/audit", "/admin/audit?user=ada", "/admin/audit.csv")
USER_ACTIONS = ("disable", "enable", "end-sessions", "password")


def signed_in(server, name: str, password: str) -> Client:
    browser = Client(server.base)
    assert browser.login(name, password).status_code == 302
    return browser


def is_signed_in(browser: Client) -> bool:
    response = browser.get("/")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def last_audit(url: str):
    row = audit_log(url)[-1]
    return row.user, row.action, row.detail


# ---- disable and enable ----------------------------------------------------------------------

def test_a_disabled_user_cannot_sign_in_and_their_open_session_stops_at_once(server, staff, admin, db_url):
    assert is_signed_in(staff)
    response = admin.submit("/admin/users", "/admin/users/disable", name="kari")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?done=disable"
    assert "Brukeren er deaktivert og logget ut." in admin.get("/admin/users?done=disable").text
    assert last_audit(db_url) == ("ada", "user_disable", "user=kari; sessions_ended=1")
    # The existing cookie is sent back to the sign-in page, and stays dead after enabling.
    response = staff.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?expired=1"
    again = Client(server.base)
    refused = again.login("kari", PASSWORD)
    assert refused.status_code == 401 and "Feil brukernavn eller passord." in refused.text
    assert "staff_session" not in again.http.cookies
    page = admin.get("/admin/users").text
    assert "<strong>Deaktivert</strong>" in page and 'aria-label="Aktiver igjen kontoen til kari"' in page
    assert admin.submit("/admin/users", "/admin/users/enable", name="kari").status_code == 302
    assert last_audit(db_url) == ("ada", "user_enable", "user=kari")
    assert not is_signed_in(staff)
    assert signed_in(server, "kari", PASSWORD) is not None


def test_a_session_of_a_user_disabled_behind_the_apps_back_stops_too(staff, db_url):
    # Disabled directly in the database (or by another process): the next request notices.
    assert is_signed_in(staff)
    with session_scope(db_url) as session:
        session.execute(update(StaffUser).where(StaffUser.name == "kari")
                        .values(disabled_at=datetime.now(timezone.utc)))
    assert not is_signed_in(staff)
    with session_scope(db_url) as session:
        assert session.execute(select(StaffSession.ended_at).where(StaffSession.user_name == "kari")).scalar_one()


def test_disabled_and_unknown_users_are_checked_against_a_hash_like_anyone_else(db_url, monkeypatch):
    """The time a refusal takes must not tell a disabled or unknown name from a wrong password."""
    users.disable_user("kari", url=db_url)
    verified = []
    real = users._hasher

    class Recording:
        def verify(self, stored, password):
            verified.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(users, "_hasher", Recording())
    assert users.authenticate("kari", PASSWORD, db_url) is None  # the right password, but disabled
    assert users.authenticate("nobody", PASSWORD, db_url) is None
    assert users.authenticate("ada", "wrong password", db_url) is None
    assert len(verified) == 3 and all(h.startswith("$argon2") for h in verified)


def test_an_admin_cannot_disable_themselves_nor_the_last_enabled_admin(server, admin, db_url):
    page = admin.get("/admin/users").text
    assert 'aria-label="Deaktiver kari"' in page and 'aria-label="Deaktiver ada"' not in page
    refused = admin.submit("/admin/users", "/admin/users/disable", name="ada")
    assert refused.status_code == 409 and "Du kan ikke deaktivere din egen konto." in refused.text
    assert is_signed_in(admin)
    with pytest.raises(users.StaffUserError) as error:
        users.disable_user("ada", url=db_url)  # the command line has no "self", but ada is the last admin
    assert error.value.code == "last_admin"
    # With a second admin, one of them may go; then the other is the last.
    add_user("olav", "admin", "olav's long password", url=db_url)
    olav = signed_in(server, "olav", "olav's long password")
    assert olav.submit("/admin/users", "/admin/users/disable", name="ada").status_code == 302
    assert not is_signed_in(admin)
    with pytest.raises(users.StaffUserError, match="last enabled admin"):
        users.disable_user("olav", url=db_url)
    with session_scope(db_url) as session:
        assert session.execute(select(StaffUser.disabled_at).where(StaffUser.name == "olav")).scalar_one() is None


def test_unknown_user_is_refused(admin):
    response = admin.submit("/admin/users", "/admin/users/disable", name="nobody")
    assert response.status_code == 404 and "Brukeren finnes ikke." in response.text


# ---- sessions --------------------------------------------------------------------------------

def test_sign_out_all_sessions_ends_every_browser_of_the_user(server, admin, db_url):
    first, second = signed_in(server, "kari", PASSWORD), signed_in(server, "kari", PASSWORD)
    page = admin.get("/admin/users").text
    assert "<td>2</td>" in page  # open sessions of kari
    response = admin.submit("/admin/users", "/admin/users/end-sessions", name="kari")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?done=end-sessions"
    assert not is_signed_in(first) and not is_signed_in(second)
    assert last_audit(db_url) == ("ada", "user_end_sessions", "user=kari; sessions_ended=2")
    # Kari may sign in again: this is not a disable.
    assert is_signed_in(signed_in(server, "kari", PASSWORD))


def test_an_admin_signing_out_their_own_sessions_keeps_the_current_one(server, admin, db_url):
    elsewhere = signed_in(server, "ada", ADMIN_PASSWORD)
    assert admin.submit("/admin/users", "/admin/users/end-sessions", name="ada").status_code == 302
    assert is_signed_in(admin) and not is_signed_in(elsewhere)
    assert last_audit(db_url) == ("ada", "user_end_sessions", "user=ada; sessions_ended=1")


def test_idle_sessions_are_not_counted_as_open(server, admin, db_url):
    signed_in(server, "kari", PASSWORD)
    with session_scope(db_url) as session:
        session.execute(update(StaffSession).where(StaffSession.user_name == "kari")
                        .values(last_seen=datetime.now(timezone.utc) - timedelta(hours=9)))
    assert [u.open_sessions for u in users.list_users(db_url) if u.name == "kari"] == [0]


# ---- one's own password ----------------------------------------------------------------------

def test_changing_ones_own_password_signs_out_the_other_sessions(server, staff, db_url):
    other = signed_in(server, "kari", PASSWORD)
    page = staff.get("/account").text
    assert "Du er logget inn som kari med rollen Saksbehandler." in page
    assert '<label for="current-password">Nåværende passord</label>' in page
    response = staff.submit("/account", "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD,
                            new_password_repeat=NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/account?done=1"
    assert "Passordet er byttet. Du er logget ut på alle andre enheter" in staff.get("/account?done=1").text
    assert is_signed_in(staff) and not is_signed_in(other)
    assert last_audit(db_url) == ("kari", "password_change", "other_sessions_ended=1")
    assert Client(server.base).login("kari", PASSWORD).status_code == 401
    assert is_signed_in(signed_in(server, "kari", NEW_PASSWORD))
    with session_scope(db_url) as session:
        stored = session.execute(select(StaffUser.password_hash).where(StaffUser.name == "kari")).scalar_one()
    assert stored.startswith("$argon2") and NEW_PASSWORD not in stored


@pytest.mark.parametrize("current, new, repeat, message", [
    ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "Det nåværende passordet er feil."),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "De to nye passordene er ikke like."),
    (PASSWORD, "short pw", "short pw", "Passordet må ha minst 12 tegn."),
])
def test_a_refused_password_change_changes_nothing(server, staff, db_url, current, new, repeat, message):
    other = signed_in(server, "kari", PASSWORD)
    response = staff.submit("/account", "/account/password", current_password=current, new_password=new,
                            new_password_repeat=repeat)
    assert response.status_code == 400
    assert "Passordet ble ikke byttet:" in response.text and message in response.text
    assert 'role="alert"' in response.text
    assert is_signed_in(other) and is_signed_in(staff)
    assert Client(server.base).login("kari", new).status_code == 401
    assert is_signed_in(signed_in(server, "kari", PASSWORD))
    assert "password_change" not in [r.action for r in audit_log(db_url)]
    assert "password_change_refused" in [r.action for r in audit_log(db_url)]


# ---- an admin sets a password ----------------------------------------------------------------

def test_an_admin_sets_a_new_password_and_the_user_is_signed_out(server, staff, admin, db_url):
    page = admin.get("/admin/users").text
    assert '<label for="set-password-new">Nytt passord</label>' in page
    response = admin.submit("/admin/users", "/admin/users/password", name="kari", new_password=NEW_PASSWORD,
                            new_password_repeat=NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?done=password"
    assert not is_signed_in(staff)
    assert Client(server.base).login("kari", PASSWORD).status_code == 401
    assert is_signed_in(signed_in(server, "kari", NEW_PASSWORD))
    assert ("ada", "user_set_password", "user=kari; sessions_ended=1") in [
        (r.user, r.action, r.detail) for r in audit_log(db_url)]
    for new, repeat, message in ((NEW_PASSWORD, "something else!!", "De to nye passordene er ikke like."),
                                 ("too short", "too short", "Passordet må ha minst 12 tegn.")):
        refused = admin.submit("/admin/users", "/admin/users/password", name="kari", new_password=new,
                               new_password_repeat=repeat)
        assert refused.status_code == 400 and message in refused.text
    assert is_signed_in(signed_in(server, "kari", NEW_PASSWORD))


# ---- admins only -----------------------------------------------------------------------------

def test_staff_without_the_admin_role_get_403_on_every_admin_route(staff, db_url):
    for path in ADMIN_ROUTES:
        response = staff.get(path)
        assert response.status_code == 403 and "Du har ikke tilgang til dette." in response.text, path
    for action in USER_ACTIONS:
        response = staff.submit("/account", f"/admin/users/{action}", name="ada", new_password=NEW_PASSWORD,
                                new_password_repeat=NEW_PASSWORD)
        assert response.status_code == 403, action
    assert users.authenticate("ada", ADMIN_PASSWORD, db_url) is not None  # nothing changed
    assert {r.action for r in audit_log(db_url)} == {"login"}
    nav = staff.get("/").text
    assert 'href="/account"' in nav and 'href="/admin/users"' not in nav and 'href="/admin/audit"' not in nav


def test_admins_see_the_admin_links(admin):
    nav = admin.get("/").text
    assert 'href="/admin/users">Brukere</a>' in nav and 'href="/admin/audit">Aktivitetslogg</a>' in nav


def test_every_user_action_needs_the_csrf_token(admin, db_url):
    for action in USER_ACTIONS:
        response = admin.post(f"/admin/users/{action}", {"name": "kari", "new_password": NEW_PASSWORD,
                                                         "new_password_repeat": NEW_PASSWORD})
        assert response.status_code == 403 and "Skjemaet var utløpt" in response.text, action
    response = admin.post("/account/password", {"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD,
                                                "new_password_repeat": NEW_PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert users.authenticate("kari", PASSWORD, db_url) is not None
    assert users.authenticate("ada", ADMIN_PASSWORD, db_url) is not None


# ---- the audit log ---------------------------------------------------------------------------

def test_the_audit_page_lists_actions_newest_first_in_local_time_and_filters(server, admin, db_url):
    kari = signed_in(server, "kari", PASSWORD)
    kari.get("/handoffs.csv")
    with session_scope(db_url) as session:  # a known moment: 11:00 UTC is 12:00 in Oslo in winter
        session.add(StaffAuditLog(at=datetime(2026, 1, 15, 11, 0, tzinfo=timezone.utc), user="kari",
                                  action="view_transcript", conversation_id="rest:c-audit", detail="handoff=7"))
    page = admin.get("/admin/audit").text
    assert "Tidene er i kommunens tidssone (Europe/Oslo)" in page
    body = page.split("<tbody>")[-1]
    assert body.index("<td>Lastet ned henvendelser (CSV)</td>") < body.index("<td>Logget inn</td>")  # newest first
    assert "<td>2026-01-15 12:00</td><td>kari</td><td>Åpnet samtalen</td>" in page
    assert "<td>rest:c-audit</td>" in page
    assert '<option value="export_csv">Lastet ned henvendelser (CSV)</option>' in page

    def shown(query):
        body = admin.get("/admin/audit" + query).text.split("<tbody>")[-1]
        return body.count("<tr>")

    assert shown("?user=kari") == 3  # login, export, the transcript view
    assert shown("?action=login") == 2  # ada and kari
    assert shown("?user=kari&action=login") == 1
    assert shown("?user=nobody") == 0
    assert "Ingen oppføringer passer til filteret." in admin.get("/admin/audit?user=nobody").text
    filtered = admin.get("/admin/audit?user=kari&action=login").text
    assert '<input id="a-user" name="user" type="text" value="kari">' in filtered
    assert '<option value="login" selected>' in filtered
    assert 'href="/admin/audit.csv?user=kari&amp;action=login"' in filtered


def test_the_audit_page_has_pages_of_a_hundred(admin, db_url):
    for n in range(150):
        users.audit("kari", "note", f"c-{n}", f"n={n}", db_url)
    first = admin.get("/admin/audit?user=kari").text
    assert first.split("<tbody>")[-1].count("<tr>") == 100
    assert "150 oppføringer – side 1 av 2" in first and "n=149<" in first and "n=49<" not in first
    assert 'href="/admin/audit?user=kari&amp;page=2" rel="next">Eldre oppføringer' in first
    assert 'rel="prev"' not in first
    second = admin.get("/admin/audit?user=kari&page=2").text
    assert second.split("<tbody>")[-1].count("<tr>") == 50 and "n=49<" in second and "n=50<" not in second
    assert 'href="/admin/audit?user=kari&amp;page=1" rel="prev">Nyere oppføringer' in second
    assert "side 2 av 2" in admin.get("/admin/audit?user=kari&page=99").text
    assert "side 1 av 2" in admin.get("/admin/audit?user=kari&page=nonsense").text


def test_the_audit_csv_has_the_filtered_rows_defused_and_is_itself_audited(server, admin, db_url):
    formula = "=HYPERLINK(\"http://evil.example\",\"x\")"
    Client(server.base).login(formula, "whatever it is")  # anyone may type a formula as a user name
    signed_in(server, "kari", PASSWORD)
    with session_scope(db_url) as session:
        session.add(StaffAuditLog(at=datetime(2026, 7, 1, 8, 30, tzinfo=timezone.utc), user="kari",
                                  action="note", conversation_id="-1+2", detail="@SUM(A1)"))
    response = admin.get("/admin/audit.csv")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["time", "user", "action", "conversation_id", "detail"]
    body = rows[1:]
    assert [r[2] for r in body] == ["note", "login", "login_failed", "login"]  # newest first
    assert body[0] == ["2026-07-01T10:30:00+02:00", "kari", "note", "'-1+2", "'@SUM(A1)"]
    assert body[2][1] == "'" + formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    assert last_audit(db_url) == ("ada", "export_audit", "filters={'user': '', 'action': ''}; rows=4")
    only = list(csv.DictReader(io.StringIO(admin.get("/admin/audit.csv?user=kari&action=login").text)))
    assert [(r["user"], r["action"]) for r in only] == [("kari", "login")]
    assert last_audit(db_url)[2] == "filters={'user': 'kari', 'action': 'login'}; rows=1"


def test_swedish_municipality_gets_swedish_account_pages(db_url, monkeypatch):
    from bot.core.config import get_settings
    from tests.staff.conftest import StaffServer

    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    running = StaffServer(db_url).start()
    try:
        admin = signed_in(running, "ada", ADMIN_PASSWORD)
        assert "Byt lösenord" in admin.get("/account").text and "Mitt konto" in admin.get("/account").text
        listing = admin.get("/admin/users").text
        assert "<h1>Användare</h1>" in listing and 'aria-label="Inaktivera kari"' in listing
        audit = admin.get("/admin/audit").text
        assert "Aktivitetslogg" in audit and "Loggade in" in audit and f"({load_municipality().timezone})" in audit
        refused = admin.submit("/account", "/account/password", current_password="wrong password!",
                               new_password=NEW_PASSWORD, new_password_repeat=NEW_PASSWORD)
        assert refused.status_code == 400 and "Det nuvarande lösenordet är fel." in refused.text
    finally:
        running.stop()


def test_guessing_the_current_password_is_limited_like_signing_in(server, staff, db_url):
    for attempt in range(5):
        response = staff.submit("/account", "/account/password", current_password=f"guess number {attempt}",
                                new_password=NEW_PASSWORD, new_password_repeat=NEW_PASSWORD)
        assert response.status_code == 400, attempt
    blocked = staff.submit("/account", "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD,
                           new_password_repeat=NEW_PASSWORD)
    assert blocked.status_code == 429 and "For mange forsøk med feil passord." in blocked.text
    assert users.authenticate("kari", PASSWORD, db_url) is not None  # unchanged
    assert [r.action for r in audit_log(db_url)].count("password_change_refused") == 5

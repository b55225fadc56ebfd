"""The crisis message page: publish in every offered language, see it as citizens will, end it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.dialogue import crisis
from bot.storage.db import session_scope
from bot.municipality import load_municipality
from bot.staff.users import audit_log

TEXTS = {"nn": "Vatnet er stengt i Strandvegen til kl. 18.", "nb": "Vannet er stengt i Strandveien til kl. 18.",
         "sv": "Vattnet är avstängt på Strandvägen till kl. 18."}


def tomorrow():
    local = datetime.now(load_municipality().zone) + timedelta(days=1)
    return {"end_date": local.date().isoformat(), "end_time": "12:00"}


def test_publish_shows_what_citizens_see_in_each_language_and_is_audited(admin, db_url):
    page = admin.get("/crisis").text
    assert "Ingen driftsmelding er aktiv nå." in page
    for lang in ("nn", "nb", "sv"):
        assert f'<label for="crisis-{lang}">' in page
    response = admin.submit("/crisis", "/crisis", **TEXTS, **tomorrow())
    assert response.status_code == 302 and response.headers["Location"] == "/crisis?done=1"
    page = admin.get("/crisis?done=1").text
    assert "Driftsmeldingen er oppdatert." in page and "Driftsmeldingen er aktiv." in page
    name = load_municipality().name_in
    assert f"Driftsmelding frå {name('nn')}: {TEXTS['nn']}" in page
    assert f"Driftsmelding fra {name('nb')}: {TEXTS['nb']}" in page
    assert f"Driftinformation från {name('sv')}: {TEXTS['sv']}" in page
    with session_scope(db_url) as session:
        assert crisis.latest(session, "saltvika").texts == TEXTS
    assert [r.action for r in audit_log(db_url)].count("crisis_publish") == 1


def test_missing_texts_and_a_past_end_are_shown_by_field_and_nothing_is_published(admin, db_url):
    response = admin.submit("/crisis", "/crisis", nn=TEXTS["nn"], nb="", sv=" ", end_date="2020-01-01",
                            end_time="12:00")
    assert response.status_code == 400
    page = response.text
    assert "Meldingen ble ikke publisert:" in page
    assert 'href="#crisis-nb">Tekst på bokmål: mangler' in page and 'href="#crisis-sv">Tekst på svensk: mangler' in page
    assert "Gjelder til: er passert" in page
    assert 'id="crisis-nb" name="nb"' in page and 'aria-invalid="true" aria-describedby="crisis-nb-error"' in page
    assert TEXTS["nn"] in page  # what was typed is kept
    with session_scope(db_url) as session:
        assert session.execute(select(crisis.CrisisMessage)).first() is None


@pytest.mark.parametrize("end_date, end_time", [("", ""), ("i morgon", "12:00"), ("2026-13-40", "25:99")])
def test_unreadable_end_times_are_refused(admin, db_url, end_date, end_time):
    response = admin.submit("/crisis", "/crisis", **TEXTS, end_date=end_date, end_time=end_time)
    assert response.status_code == 400 and "Gjelder til: mangler" in response.text


def test_the_admins_text_is_shown_inert(admin, db_url):
    hostile = dict(TEXTS, nb='<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert admin.submit("/crisis", "/crisis", **hostile, **tomorrow()).status_code == 302
    page = admin.get("/crisis").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_end_now_stops_the_message_and_keeps_the_history(admin, db_url):
    admin.submit("/crisis", "/crisis", **TEXTS, **tomorrow())
    response = admin.submit("/crisis", "/crisis/end")
    assert response.status_code == 302
    page = admin.get("/crisis").text
    assert "Ingen driftsmelding er aktiv nå." in page
    assert "Avsluttet før tiden" in page and "Publisert" in page
    with session_scope(db_url) as session:
        assert [c.action for c in crisis.history(session, "saltvika")] == ["ended", "published"]
    assert "crisis_end" in [r.action for r in audit_log(db_url)]


def test_swedish_municipality_gets_the_swedish_page(db_url, monkeypatch):
    from bot.core.config import get_settings
    from tests.staff.conftest import ADMIN_PASSWORD, Client, StaffServer

    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    server = StaffServer(db_url).start()
    try:
        client = Client(server.base)
        client.login("ada", ADMIN_PASSWORD)
        page = client.get("/crisis").text
        assert "Inget driftmeddelande är aktivt just nu." in page and '<html lang="sv">' in page
        offered = load_municipality().languages
        for lang in ("nn", "nb", "sv"):
            assert (f'<label for="crisis-{lang}">' in page) == (lang in offered)
    finally:
        server.stop()


def test_staff_without_the_admin_role_see_the_message_but_cannot_publish_or_end_it(staff, admin, db_url):
    assert admin.submit("/crisis", "/crisis", **TEXTS, **tomorrow()).status_code == 302
    page = staff.get("/crisis")
    assert page.status_code == 200
    assert "Driftsmeldingen er aktiv." in page.text and TEXTS["nb"] in page.text  # the message and its history
    assert "Bare administratorer kan publisere eller avslutte en driftsmelding" in page.text
    assert 'action="/crisis"' not in page.text and 'action="/crisis/end"' not in page.text
    assert "Publiser driftsmeldingen" not in page.text and "Avslutt meldingen nå" not in page.text
    # A forged form with a valid CSRF token is refused all the same.
    other = dict(TEXTS, nb="Falsk melding fra en saksbehandler.")
    refused = staff.submit("/crisis", "/crisis", **other, **tomorrow())
    assert refused.status_code == 403 and "Du har ikke tilgang til dette." in refused.text
    assert staff.submit("/crisis", "/crisis/end").status_code == 403
    with session_scope(db_url) as session:
        assert [(c.action, c.texts["nb"]) for c in crisis.history(session, "saltvika")] == [("published", TEXTS["nb"])]
    assert [r.action for r in audit_log(db_url)].count("crisis_publish") == 1
    assert "crisis_end" not in [r.action for r in audit_log(db_url)]
    # The admin sees the form.
    assert "Publiser driftsmeldingen" in admin.get("/crisis").text


def test_the_page_shows_who_published_and_who_ended_each_message(admin, server, db_url):
    from bot.staff.users import add_user
    from tests.staff.conftest import Client

    add_user("olav", "admin", "olav's long password", url=db_url)
    olav = Client(server.base)
    assert olav.login("olav", "olav's long password").status_code == 302
    assert admin.submit("/crisis", "/crisis", **TEXTS, **tomorrow()).status_code == 302
    assert "(publisert av ada)" in olav.get("/crisis").text
    assert olav.submit("/crisis", "/crisis/end").status_code == 302
    page = olav.get("/crisis").text
    assert "<th scope=\"col\">Publisert eller avsluttet av</th>" in page
    rows = page.split("<tbody>", 1)[1]
    assert rows.index("Avsluttet før tiden</td>\n    <td>olav</td>") < rows.index("Publisert</td>\n    <td>ada</td>")
    assert [(r.user, r.action) for r in audit_log(db_url) if r.action.startswith("crisis")] == [
        ("ada", "crisis_publish"), ("olav", "crisis_end")]

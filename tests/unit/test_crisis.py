"""The crisis message store: validation, append-only history, what is active, the greeting's values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.dialogue import crisis
from bot.storage.db import session_scope, upgrade
from bot.municipality import load_municipality

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Norway
TEXTS = {"nn": "Vatnet er stengt i Strandvegen.", "nb": "Vannet er stengt i Strandveien.",
         "sv": "Vattnet är avstängt på Strandvägen."}
LANGS = ["nn", "nb", "sv"]


@pytest.fixture
def url(archive_database_url):
    url = archive_database_url
    upgrade(url)
    return url


def publish(url, texts=TEXTS, ends=NOW + timedelta(hours=6), now=NOW, municipality="saltvika"):
    with session_scope(url) as session:
        return crisis.publish(session, municipality, texts, ends, LANGS, "kari", now)


def test_published_message_is_active_until_its_end(url):
    published = publish(url)
    with session_scope(url) as session:
        assert crisis.active(session, "saltvika", NOW).texts == TEXTS
        assert crisis.active(session, "saltvika", published.ends_at - timedelta(seconds=1)) is not None
        assert crisis.active(session, "saltvika", published.ends_at) is None
        assert crisis.active(session, "storlia", NOW) is None


def test_a_new_message_replaces_the_old_and_history_keeps_both(url):
    publish(url)
    newer = dict(TEXTS, nn="Vegen til Nordneset er stengd.")
    publish(url, texts=newer, now=NOW + timedelta(minutes=5))
    with session_scope(url) as session:
        assert crisis.active(session, "saltvika", NOW + timedelta(minutes=6)).texts["nn"] == newer["nn"]
        assert [c.texts["nn"] for c in crisis.history(session, "saltvika")] == [newer["nn"], TEXTS["nn"]]


def test_ending_early_appends_a_row_and_nothing_is_active(url):
    publish(url)
    with session_scope(url) as session:
        ended = crisis.end_now(session, "saltvika", "ada", NOW + timedelta(hours=1))
        assert ended.action == "ended" and ended.created_by == "ada"
    with session_scope(url) as session:
        assert crisis.active(session, "saltvika", NOW + timedelta(hours=1, seconds=1)) is None
        assert session.execute(select(func.count()).select_from(crisis.CrisisMessage)).scalar() == 2
        assert crisis.end_now(session, "saltvika", "ada", NOW + timedelta(hours=2)) is None


@pytest.mark.parametrize("texts, ends, problems", [
    (dict(TEXTS, sv="  "), NOW + timedelta(hours=1), {"sv": "missing"}),
    ({"nn": "x"}, NOW + timedelta(hours=1), {"nb": "missing", "sv": "missing"}),
    (dict(TEXTS, nb="x" * 601), NOW + timedelta(hours=1), {"nb": "too_long"}),
    (TEXTS, None, {"ends_at": "missing"}),
    (TEXTS, NOW - timedelta(minutes=1), {"ends_at": "past"}),
    (TEXTS, NOW + timedelta(days=32), {"ends_at": "too_far"}),
])
def test_invalid_messages_are_refused_naming_each_field(url, texts, ends, problems):
    with pytest.raises(crisis.CrisisError) as caught:
        publish(url, texts=texts, ends=ends)
    assert caught.value.problems == problems
    with session_scope(url) as session:
        assert crisis.latest(session, "saltvika") is None


def test_control_characters_are_removed_and_lines_kept(url):
    published = publish(url, texts=dict(TEXTS, nn="Stengt\x00 veg\x1b[31m\r\nRing 55 00 00 00  "))
    assert published.texts["nn"] == "Stengt veg[31m\nRing 55 00 00 00"


@pytest.mark.parametrize("language, expected", [
    ("nn", "Vatnet er stengt i Strandvegen."),
    ("nb", "Vannet er stengt i Strandveien."),
    ("sv", "Vattnet är avstängt på Strandvägen."),
])
def test_greeting_notice_in_the_conversations_language(url, language, expected):
    profile = load_municipality("saltvika")
    assert crisis.greeting_notice(profile, language, NOW, url) is None
    publish(url)
    notice = crisis.greeting_notice(profile, language, NOW, url)
    assert notice["crisis_text"] == expected
    assert "16:00" in notice["crisis_until"] or "16.00" in notice["crisis_until"]  # 15:00 UTC in Oslo


def test_a_language_without_text_falls_back_to_the_default(url):
    profile = load_municipality("saltvika")
    # A message published before the municipality offered more languages has fewer texts.
    with session_scope(url) as session:
        session.add(crisis.CrisisMessage(municipality="saltvika", created_at=NOW, created_by="kari",
                                         ends_at=NOW + timedelta(hours=1), texts={"nn": "Berre nynorsk."},
                                         action="published"))
    assert crisis.greeting_notice(profile, "sv", NOW, url)["crisis_text"] == "Berre nynorsk."


def test_migrations_create_exactly_the_tables_the_models_describe(url):
    """A model changed without a migration (or the reverse) would break upgrades in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    import bot.channels.models  # noqa: F401  (all tables share one metadata)
    import bot.content.models  # noqa: F401
    import bot.staff.models  # noqa: F401
    import bot.training.models  # noqa: F401
    from bot.storage.base import metadata

    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []

"""The retention purge beyond the archive: Rasa's tracker store, the spool's replayed files, staff
sessions and the Messenger message ids seen.

Real databases (SQLite and PostgreSQL, the tracker store in the archive database and in one of its
own), a real ``SQLTrackerStore`` from Rasa saving real events, real spool files written and
replayed by :class:`bot.archive.spool.Spool`.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import bot.archive.spool as spool_module
from bot.storage.db import engine_for, session_scope, upgrade
from bot.archive.models import ArchiveRecord, PurgeLog
from bot.archive.purge import OTHER_STORES
from bot.ops.retention import purge
from bot.archive.spool import Spool
from bot.channels.models import MessengerSeenMessage
from bot.ops.cli import main
from bot.core.config import get_settings
from bot.staff.models import StaffSession
from tests.conftest import drop_postgres_database, make_postgres_database
from tests.unit import archive_fixtures as fx
from tests.unit.archive_fixtures import at

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
BEFORE = date(2026, 5, 1)  # with 90 days: cutoff 3 March 2026 12:00 UTC

TRACKER_ONLY_OLD = "rest:tracker-only-old"  # January, nothing archived
TRACKER_ONLY_RECENT = "rest:tracker-only-recent"  # May, nothing archived
TRACKER_ONLY_OPEN = "rest:tracker-only-open"  # January, an open handoff but no records
OLD_BUT_ACTIVE = "rest:old-but-active"  # archived in January, a turn in April (only in the tracker store)
SECRET_TEXT = f"Fødselsnummeret mitt er {fx.NATIONAL_ID}"


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------


@pytest.fixture(params=["same-database", "own-database"])
def tracker_url(request, archive_database_url, tmp_path) -> str:
    """The tracker store's URL: the archive's database, or one of its own on the same server."""
    if request.param == "same-database":
        yield archive_database_url
        return
    if archive_database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'tracker' / 'tracker.db'}"
        return
    url = make_postgres_database(request.getfixturevalue("postgres_url"), request.node.nodeid + "_tracker")
    yield url
    drop_postgres_database(url)


def rasa_store(url: str) -> SQLTrackerStore:
    """Rasa's own SQL tracker store on ``url`` (as ``endpoints.yml`` configures it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=parsed.database)
    return SQLTrackerStore(Domain.empty(), dialect=parsed.drivername, host=parsed.host, port=parsed.port,
                           db=parsed.database, username=parsed.username, password=parsed.password)


def save_conversation(store: SQLTrackerStore, sender_id: str, moment: datetime) -> int:
    """Saves a conversation of one turn at ``moment`` through Rasa; returns its number of events."""
    start = moment.timestamp()
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        UserUttered(SECRET_TEXT, intent={"name": "personal_case", "confidence": 0.9}, timestamp=start + 1),
        BotUttered("Eg sender deg vidare til ein saksbehandlar.", timestamp=start + 2),
        ActionExecuted("action_listen", timestamp=start + 3),
    ]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender_id, events)))
    return len(events)


def tracker_keys(store: SQLTrackerStore) -> set:
    return set(asyncio.run(store.keys()))


def tracker_event_count(store: SQLTrackerStore) -> int:
    with store.session_scope() as session:
        return session.query(store.SQLEvent).count()


def _fixed_clock(moment: datetime):
    class FixedDateTime(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment if tz is None else moment.astimezone(tz)

    return FixedDateTime


def replay_at(spool: Spool, moment: datetime, events: List[dict]) -> Path:
    """Spools ``events`` and replays them as if at ``moment``; returns the file in ``replayed/``."""
    spool.append(events)
    written: List[dict] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spool_module, "datetime", _fixed_clock(moment))
        assert spool.replay(written.extend) == len(events)
    assert written == events
    replayed = sorted((spool.directory / "replayed").glob(moment.strftime("%Y%m%dT%H%M%S") + "*"))
    assert len(replayed) == 1
    return replayed[0]


def user_event(sender_id: str, moment: datetime) -> dict:
    return {"event": "user", "sender_id": sender_id, "timestamp": moment.timestamp(), "text": SECRET_TEXT}


class World:
    """Everything the purge looks at, with the rows and files it must delete or keep."""

    def __init__(self, archive_url: str, tracker_url: str, spool_dir: Path) -> None:
        self.archive_url, self.tracker_url, self.spool_dir = archive_url, tracker_url, spool_dir
        upgrade(archive_url)
        with session_scope(archive_url) as session:
            fx.populate_purge(session)
            b = fx.Builder(session)
            b.record(OLD_BUT_ACTIVE, fx.Kind.CITIZEN_MESSAGE, at("2026-01-05 10:00:00"), "Hei", sender=OLD_BUT_ACTIVE,
                     channel="rest", language="nb")
            b.handoff(TRACKER_ONLY_OPEN, "human_requested", at("2026-01-05 10:00:01"),
                      [("open", None, at("2026-01-05 10:00:01"), None)], channel="rest", language="nb")
            session.add_all([
                StaffSession(token_hash="a" * 64, user_name="ola.hansen", csrf_token="x", created_at=at("2026-01-12 08:00:00"),
                             last_seen=at("2026-01-12 09:00:00"), ended_at=at("2026-01-12 09:05:00")),
                StaffSession(token_hash="b" * 64, user_name="kari.nordmann", csrf_token="x",
                             created_at=at("2026-02-01 08:00:00"), last_seen=at("2026-02-01 08:30:00")),
                StaffSession(token_hash="c" * 64, user_name="kari.nordmann", csrf_token="x",
                             created_at=at("2026-05-30 08:00:00"), last_seen=at("2026-05-30 15:00:00"),
                             ended_at=at("2026-05-30 15:01:00")),
                StaffSession(token_hash="d" * 64, user_name="ola.hansen", csrf_token="x",
                             created_at=at("2026-05-31 08:00:00"), last_seen=at("2026-06-01 11:55:00")),
                MessengerSeenMessage(mid="m_old_1", seen_at=at("2026-01-10 09:00:00")),
                MessengerSeenMessage(mid="m_old_2", seen_at=at("2026-03-03 11:59:59")),
                MessengerSeenMessage(mid="m_recent", seen_at=at("2026-05-31 12:00:00")),
            ])

        self.store = rasa_store(tracker_url)
        self.events = {}
        for sender_id, moment in [
            (fx.OLD_CLOSED, at("2026-01-10 09:00:00")),
            (fx.OLD_PLAIN, at("2026-01-20 12:00:00")),
            (fx.OLD_OPEN, at("2026-01-15 14:00:00")),
            (fx.RECENT, at("2026-05-20 08:00:00")),
            (TRACKER_ONLY_OLD, at("2026-01-05 10:00:00")),
            (TRACKER_ONLY_RECENT, at("2026-05-28 10:00:00")),
            (TRACKER_ONLY_OPEN, at("2026-01-05 10:00:00")),
            (OLD_BUT_ACTIVE, at("2026-04-02 10:00:00")),
        ]:
            self.events[sender_id] = save_conversation(self.store, sender_id, moment)

        spool = Spool(spool_dir)
        self.replayed_old = replay_at(spool, at("2026-01-25 03:00:00"),
                                      [user_event(fx.OLD_PLAIN, at("2026-01-20 12:00:00"))])
        self.replayed_open = replay_at(spool, at("2026-01-26 03:00:00"),
                                       [user_event(fx.OLD_OPEN, at("2026-01-15 14:00:00"))])
        self.replayed_recent = replay_at(spool, at("2026-05-25 03:00:00"),
                                         [user_event(fx.RECENT, at("2026-05-20 08:00:00"))])
        # Old events, but replayed after the cutoff: the file is not old yet.
        self.replayed_late = replay_at(spool, at("2026-04-01 03:00:00"),
                                       [user_event(fx.OLD_PLAIN, at("2026-01-20 12:00:02"))])
        spool.append([user_event(fx.OLD_PLAIN, at("2026-01-20 12:00:01"))])  # never replayed
        self.pending = spool.path
        self.files = {self.replayed_old, self.replayed_open, self.replayed_recent, self.replayed_late, self.pending}

    def archive_conversations(self) -> list:
        with session_scope(self.archive_url) as session:
            return sorted(session.scalars(select(ArchiveRecord.conversation_id).distinct()))

    def staff_sessions(self) -> list:
        with session_scope(self.archive_url) as session:
            return sorted(session.scalars(select(StaffSession.token_hash)))

    def seen(self) -> list:
        with session_scope(self.archive_url) as session:
            return sorted(session.scalars(select(MessengerSeenMessage.mid)))

    def purge_logs(self) -> list:
        with session_scope(self.archive_url) as session:
            return list(session.scalars(select(PurgeLog).order_by(PurgeLog.id)))

    def existing_files(self) -> set:
        return {path for path in self.files if path.exists()}

    def close(self) -> None:
        self.store.engine.dispose()
        engine_for(self.tracker_url).dispose()


@pytest.fixture
def world(archive_database_url, tracker_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    built = World(archive_database_url, tracker_url, tmp_path / "spool")
    yield built
    built.close()


def run_purge(world: World, **options):
    return purge(BEFORE, "arkivar.anne", url=world.archive_url, now=NOW, tracker_url=world.tracker_url,
                 spool_dir=world.spool_dir, **options)


ALL_TRACKED = {fx.OLD_CLOSED, fx.OLD_PLAIN, fx.OLD_OPEN, fx.RECENT, TRACKER_ONLY_OLD, TRACKER_ONLY_RECENT,
               TRACKER_ONLY_OPEN, OLD_BUT_ACTIVE}
ALL_ARCHIVED = sorted([fx.OLD_CLOSED, fx.OLD_PLAIN, fx.OLD_OPEN, fx.LATE_CLOSE, fx.RECENT, OLD_BUT_ACTIVE])


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


def test_purge_clears_tracker_store_spool_staff_sessions_and_seen_ids(world, caplog):
    assert tracker_keys(world.store) == ALL_TRACKED
    caplog.set_level(logging.DEBUG)
    summary = run_purge(world)

    assert summary.cutoff == datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)
    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED, fx.OLD_PLAIN, TRACKER_ONLY_OLD]
    assert [item.tracker_events for item in summary.purged] == [6, 6, 6]
    assert [item.records for item in summary.purged] == [3, 2, 0]

    # Tracker store: the purged conversations are gone whole; open handoffs, recent turns stay.
    assert tracker_keys(world.store) == ALL_TRACKED - {fx.OLD_CLOSED, fx.OLD_PLAIN, TRACKER_ONLY_OLD}
    assert asyncio.run(world.store.retrieve(fx.OLD_CLOSED)) is None
    assert asyncio.run(world.store.retrieve(fx.OLD_OPEN)) is not None
    assert tracker_event_count(world.store) == 5 * 6
    assert "not closed" in summary.kept[fx.OLD_OPEN]
    assert "not closed" in summary.kept[TRACKER_ONLY_OPEN]
    assert "tracker store conversation was active at 2026-04-02T10:00:03Z" in summary.kept[OLD_BUT_ACTIVE]

    # Archive: as before, and the conversation with a turn after the cutoff stays too.
    assert world.archive_conversations() == sorted([fx.OLD_OPEN, fx.LATE_CLOSE, fx.RECENT, OLD_BUT_ACTIVE])

    # Spool: only the old replayed file without a kept conversation's events goes.
    assert world.existing_files() == {world.replayed_open, world.replayed_recent, world.replayed_late, world.pending}
    assert summary.spool_files == (world.replayed_old.name,)
    assert "old-open" in summary.spool_kept[world.replayed_open.name]

    # Staff sessions ended or last seen before the cutoff go; a session ended after it stays.
    assert world.staff_sessions() == ["c" * 64, "d" * 64]
    assert summary.staff_sessions == 2
    # Messenger ids seen before the cutoff go (11:59:59 is before 12:00).
    assert world.seen() == ["m_recent"]
    assert summary.seen_messages == 2

    logs = world.purge_logs()
    assert [(log.conversation_id, log.records_deleted) for log in logs] == [
        (fx.OLD_CLOSED, 3), (fx.OLD_PLAIN, 2), (TRACKER_ONLY_OLD, 0), (OTHER_STORES, 0)]
    assert "6 tracker store event(s)" in logs[0].policy
    assert "only in the tracker store" in logs[2].policy
    assert "2 staff session(s), 2 Messenger seen message id(s), 1 replayed spool file(s)" in logs[3].policy
    assert all(log.actor == "arkivar.anne" and "ARCHIVE_RETENTION_DAYS=90" in log.policy for log in logs)

    lines = summary.lines()
    text = "\n".join(lines)
    assert "deleted 18 event(s) of 3 conversation(s), 1 of them only in the tracker store" in text
    expected_place = "in the archive database" if world.tracker_url == world.archive_url else "its own database"
    assert expected_place in text
    assert "spool: deleted 1 replayed file(s)" in text
    assert "staff sessions: deleted 2" in text
    assert "Messenger seen message ids: deleted 2" in text
    # No message text or national ID number in the output or the log.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for output in (text, logged):
        assert fx.NATIONAL_ID not in output and "saksbehandlar" not in output


def test_purge_dry_run_deletes_nothing_in_any_store(world):
    events_before = tracker_event_count(world.store)
    summary = run_purge(world, dry_run=True)

    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED, fx.OLD_PLAIN, TRACKER_ONLY_OLD]
    assert summary.tracker_events_deleted == 18
    assert summary.spool_files == (world.replayed_old.name,)
    assert (summary.staff_sessions, summary.seen_messages) == (2, 2)
    text = "\n".join(summary.lines())
    assert "would delete 18 event(s) of 3 conversation(s)" in text
    assert "spool: would delete 1 replayed file(s)" in text
    assert "staff sessions: would delete 2" in text

    assert tracker_keys(world.store) == ALL_TRACKED
    assert tracker_event_count(world.store) == events_before
    assert world.archive_conversations() == ALL_ARCHIVED
    assert world.existing_files() == world.files
    assert len(world.staff_sessions()) == 4
    assert len(world.seen()) == 3
    assert world.purge_logs() == []


def test_purge_rolls_back_every_store_when_it_fails(world, monkeypatch):
    import bot.archive.purge as purge_module

    calls = []

    def failing_log(**fields):
        calls.append(fields["conversation_id"])
        if fields["conversation_id"] == OTHER_STORES:
            raise RuntimeError("disk full")
        return PurgeLog(**fields)

    monkeypatch.setattr(purge_module, "PurgeLog", failing_log)
    with pytest.raises(RuntimeError, match="disk full"):
        run_purge(world)
    assert calls == [fx.OLD_CLOSED, fx.OLD_PLAIN, TRACKER_ONLY_OLD, OTHER_STORES]
    assert tracker_keys(world.store) == ALL_TRACKED
    assert world.archive_conversations() == ALL_ARCHIVED
    assert len(world.staff_sessions()) == 4 and len(world.seen()) == 3
    assert world.purge_logs() == []


@pytest.mark.parametrize("tracker_store, shown", [
    ("redis://127.0.0.1:6379/0", "tracker store (Redis): skipped, the tracker store is Redis"),
    ("memory", "tracker store (in memory): skipped, the tracker store is in memory"),
])
def test_purge_skips_a_redis_or_in_memory_tracker_store_and_says_so(archive_database_url, tmp_path, monkeypatch,
                                                                     tracker_store, shown):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    monkeypatch.setenv("TRACKER_STORE_URL", tracker_store)
    get_settings.cache_clear()
    upgrade(archive_database_url)
    with session_scope(archive_database_url) as session:
        fx.populate_purge(session)
    summary = purge(BEFORE, "arkivar", url=archive_database_url, now=NOW, spool_dir=tmp_path / "spool")
    assert shown in "\n".join(summary.lines())
    assert summary.tracker_skipped and summary.tracker_events_deleted == 0
    assert [item.conversation_id for item in summary.purged] == [fx.OLD_CLOSED, fx.OLD_PLAIN]


def test_purge_without_a_tracker_store_yet_says_so(archive_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    get_settings.cache_clear()
    upgrade(archive_database_url)
    # The archive's own database has no `events` table until Rasa has saved a conversation there.
    summary = purge(BEFORE, "arkivar", url=archive_database_url, now=NOW, tracker_url=archive_database_url,
                    spool_dir=tmp_path / "spool")
    assert "no events table yet" in summary.tracker_skipped
    missing = tmp_path / "nowhere" / "tracker.db"
    summary = purge(BEFORE, "arkivar", url=archive_database_url, now=NOW, tracker_url=f"sqlite:///{missing}",
                    spool_dir=tmp_path / "spool")
    assert "SQLite file does not exist" in summary.tracker_skipped
    assert not missing.exists()


def test_archive_purge_command_finds_the_configured_tracker_store(archive_database_url, tmp_path, monkeypatch,
                                                                  capsys):
    """``python -m bot archive purge`` with the default settings: the tracker store is ``DATA_DIR/tracker.db``
    beside a SQLite archive and the archive's own database on PostgreSQL."""
    monkeypatch.setenv("DATABASE_URL", archive_database_url)
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "90")
    monkeypatch.setenv("BOT_CLOCK", NOW.isoformat())
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.tracker_store_url == (f"sqlite:///{settings.data_dir / 'tracker.db'}"
                                          if archive_database_url.startswith("sqlite") else archive_database_url)
    built = World(archive_database_url, settings.tracker_store_url, settings.spool_dir)
    try:
        assert main(["archive", "purge", "--before", BEFORE.isoformat(), "--by", "arkivar", "--dry-run"]) == 0
        assert "would delete 18 event(s) of 3 conversation(s)" in capsys.readouterr().out
        assert tracker_keys(built.store) == ALL_TRACKED

        assert main(["archive", "purge", "--before", BEFORE.isoformat(), "--by", "arkivar"]) == 0
        out = capsys.readouterr().out
        assert "deleted 3 conversation(s) with 5 archive record(s)" in out
        assert "deleted 18 event(s) of 3 conversation(s), 1 of them only in the tracker store" in out
        assert "spool: deleted 1 replayed file(s)" in out
        assert "staff sessions: deleted 2" in out and "Messenger seen message ids: deleted 2" in out
        assert fx.NATIONAL_ID not in out
        assert TRACKER_ONLY_OLD not in tracker_keys(built.store)
        assert built.existing_files() == {built.replayed_open, built.replayed_recent, built.replayed_late, built.pending}
    finally:
        built.close()


def test_purge_deletes_the_outbox_secret_of_a_purged_conversation_only(world):
    from bot.channels.models import ConversationSecret

    with session_scope(world.archive_url) as session:
        session.add_all([ConversationSecret(conversation_id=c, secret_hash="f" * 64, created_at=at("2026-01-05 10:00:00"))
                         for c in (fx.OLD_PLAIN, fx.RECENT, fx.OLD_OPEN)])
    run_purge(world)
    with session_scope(world.archive_url) as session:
        left = sorted(session.scalars(select(ConversationSecret.conversation_id)))
    assert left == sorted([fx.RECENT, fx.OLD_OPEN])


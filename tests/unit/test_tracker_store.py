"""Rasa's tracker store on PostgreSQL across a restart and an outage (bot/rasa_server/tracker_store.py)."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.rasa_server import tracker_store as resilient
from bot.rasa_server.tracker_store import endpoint_config as tracker_store_config
from tools import services


class Collecting(EventBroker):
    """An event broker that keeps what it is given (the archive's broker in the real server)."""

    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


@pytest.fixture
def database(postgres_url):
    url = services.create_database("t_tracker_store", postgres_url)
    yield url
    services.drop_database(url)


def admin(url: str, *statements: str) -> None:
    engine = create_engine(str(make_url(url).set(database="postgres")), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def cut_connections(url: str) -> None:
    """What a restart does to the connections a server holds."""
    name = make_url(url).database
    admin(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
               f"AND pid <> pg_backend_pid()")


def store_for(url: str, broker: EventBroker) -> FailSafeTrackerStore:
    """As the Rasa server makes it: our store from the endpoints, wrapped in Rasa's fail-safe store."""
    store = TrackerStore.create(EndpointConfig.from_dict(tracker_store_config(url)), Domain.empty(), broker)
    assert isinstance(store, resilient.ResilientSQLTrackerStore)
    return FailSafeTrackerStore(store)


def turn(sender: str, text_: str, at: float) -> List:
    return [ActionExecuted("action_listen", timestamp=at), UserUttered(text_, timestamp=at + 0.1),
            BotUttered(f"svar: {text_}", timestamp=at + 0.2), ActionExecuted("action_listen", timestamp=at + 0.3)]


async def test_a_restart_between_messages_loses_nothing(database):
    broker = Collecting()
    store = store_for(database, broker)
    tracker = DialogueStateTracker.from_events("c-1", [SessionStarted(timestamp=1.0), *turn("c-1", "hei", 2.0)])
    await store.save(tracker)
    cut_connections(database)
    again = await store.retrieve("c-1")
    assert again is not None and [e.text for e in again.events if isinstance(e, UserUttered)] == ["hei"]
    for event in turn("c-1", "takk", 3.0):
        again.update(event)
    cut_connections(database)
    await store.save(again)
    stored = await store.retrieve("c-1")
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["hei", "takk"]
    assert [e["text"] for e in broker.published if e["event"] == "user"] == ["hei", "takk"]


async def test_an_outage_keeps_the_turn_for_the_archive_and_the_stored_conversation_whole(database, monkeypatch):
    monkeypatch.setattr(resilient, "RETRY_SECONDS", 1.0)
    broker = Collecting()
    store = store_for(database, broker)
    await store.save(DialogueStateTracker.from_events("c-2", [SessionStarted(timestamp=1.0), *turn("c-2", "hei", 2.0)]))
    name = make_url(database).database
    cut_connections(database)
    admin(database, f'ALTER DATABASE "{name}" RENAME TO "{name}_away"')
    try:
        # Rasa's wrapper turns the failed read into a new, empty conversation ...
        assert await store.retrieve("c-2") is None
    finally:
        admin(database, f'ALTER DATABASE "{name}_away" RENAME TO "{name}"')
    # ... and saves it at the end of the turn, when the database may be back.
    fresh = DialogueStateTracker.from_events("c-2", [SessionStarted(timestamp=5.0), *turn("c-2", "er de der?", 6.0)])
    await store.save(fresh)
    # The turn was published (for the archive) although it could not be stored ...
    assert "er de der?" in [e["text"] for e in broker.published if e["event"] == "user"]
    # ... and the stored conversation was not replaced by the empty one Rasa made meanwhile.
    stored = await store.retrieve("c-2")
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["hei"]


async def test_new_events_are_published_exactly_as_rasas_own_store_does(tmp_path):
    """The count query gives the broker the same events as Rasa's read-back, turn after turn."""
    from rasa.core.tracker_store import SQLTrackerStore

    ours_broker, rasas_broker = Collecting(), Collecting()
    domain = Domain.from_dict({"intents": ["greet"], "responses": {"utter_x": [{"text": "x"}]}})
    ours = TrackerStore.create(EndpointConfig.from_dict(tracker_store_config(f"sqlite:///{tmp_path}/a.db")),
                               domain, ours_broker)
    rasas = SQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "b.db"), event_broker=rasas_broker)
    assert isinstance(ours, resilient.ArchivingSQLTrackerStore)
    for store in (ours, rasas):
        tracker = DialogueStateTracker.from_events("citizen", [SessionStarted(timestamp=1.0)])
        for number, events in enumerate((turn("citizen", "hei", 2.0), turn("citizen", "takk", 3.0),
                                         [SessionStarted(timestamp=4.0)], turn("citizen", "igjen", 5.0))):
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            tracker = await store.retrieve("citizen")
            assert tracker is not None, number
    assert ours_broker.published == rasas_broker.published
    assert [e["event"] for e in ours_broker.published].count("user") == 3
    assert len(ours_broker.published) == 1 + 4 + 4 + 1 + 4


def test_a_server_that_loses_the_race_to_create_the_tables_waits_and_starts(tmp_path, monkeypatch):
    """Two Rasa servers starting together on one PostgreSQL: the loser's CREATE TABLE fails with a
    unique violation (an IntegrityError); the store must look again, not fail to start."""
    from sqlalchemy import exc

    real_create_all, calls = resilient.ArchivingSQLTrackerStore.Base.metadata.create_all, []

    def racing_create_all(engine, *args, **kwargs):
        calls.append(engine)
        if len(calls) == 1:
            raise exc.IntegrityError("CREATE TABLE events", {}, Exception("duplicate key value violates unique "
                                                                           "constraint pg_type_typname_nsp_index"))
        return real_create_all(engine, *args, **kwargs)

    monkeypatch.setattr(resilient.ArchivingSQLTrackerStore.Base.metadata, "create_all", racing_create_all)
    monkeypatch.setattr(resilient.time, "sleep", lambda seconds: None)
    store = resilient.ArchivingSQLTrackerStore(f"sqlite:///{tmp_path / 'tracker.db'}")
    assert len(calls) == 2
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 0

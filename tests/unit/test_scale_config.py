"""DATABASE_URL and REDIS_URL become the Rasa endpoints that let several Rasa servers share one conversation."""
from __future__ import annotations

import pytest
import yaml

from bot.core.config import SettingsError, get_settings
from bot.ops.run import write_runtime_endpoints
from bot.rasa_server.lock_store import lock_store_config
from bot.rasa_server.tracker_store import endpoint_config as tracker_store_config


def endpoints(monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return yaml.safe_load(write_runtime_endpoints(get_settings()).read_text())


def test_neither_set_everything_stays_on_sqlite(monkeypatch, tmp_path):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_server.tracker_store import ArchivingSQLTrackerStore

    written = endpoints(monkeypatch)
    # The store reads its URL from the settings, for `rasa run` with endpoints.yml as it is, too.
    assert written["tracker_store"] == {"type": "bot.rasa_server.tracker_store.ProjectTrackerStore"}
    store = TrackerStore.create(EndpointConfig.from_dict(written["tracker_store"]), Domain.empty())
    assert isinstance(store, ArchivingSQLTrackerStore)
    assert store.engine.url.database == str(tmp_path / "var" / "tracker.db")
    assert store.engine.hide_parameters
    from rasa.core.lock_store import InMemoryLockStore, LockStore

    assert written["lock_store"] == {"type": "bot.rasa_server.lock_store.ProjectLockStore"}
    # Rasa's in-memory lock store: one Rasa server
    assert isinstance(LockStore.create(EndpointConfig.from_dict(written["lock_store"])), InMemoryLockStore)
    assert get_settings().database_url == f"sqlite:///{tmp_path / 'var' / 'archive.db'}"
    assert written["event_broker"]["type"] == "bot.rasa_server.broker.ArchiveEventBroker"


def test_postgresql_and_redis_for_several_servers(monkeypatch):
    written = endpoints(monkeypatch, DATABASE_URL="postgresql://assistant:s%40cret@db.internal:5433/assistant",
                        REDIS_URL="redis://:hemmeleg@cache.internal:6380/2")
    from bot.rasa_server.tracker_store import ResilientSQLTrackerStore, store_class

    assert written["tracker_store"] == {"type": "bot.rasa_server.tracker_store.ProjectTrackerStore"}
    assert get_settings().tracker_store_url == "postgresql://assistant:s%40cret@db.internal:5433/assistant"
    assert store_class(get_settings().tracker_store_url) is ResilientSQLTrackerStore
    assert written["lock_store"] == {"type": "bot.rasa_server.lock_store.ProjectLockStore"}
    assert lock_store_config(get_settings().redis_url) == {"type": "redis", "url": "cache.internal", "port": 6380,
                                                           "db": 2, "use_ssl": False, "password": "hemmeleg"}


def test_redis_lock_store_is_what_rasa_builds_from_the_config():
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    store = LockStore.create(EndpointConfig.from_dict(lock_store_config("rediss://locks:pw@cache.internal/3")))
    assert isinstance(store, RedisLockStore)
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == ("cache.internal", 6379, 3)
    assert (connection["username"], connection["password"]) == ("locks", "pw")
    assert store.red.connection_pool.connection_class.__name__ == "SSLConnection"


def test_postgresql_tracker_store_is_what_rasa_builds_from_the_config(postgres_url):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_server.tracker_store import ResilientSQLTrackerStore

    store = TrackerStore.create(EndpointConfig.from_dict(tracker_store_config(postgres_url)), Domain.empty())
    try:
        assert isinstance(store, ResilientSQLTrackerStore)
        assert store.engine.url.render_as_string(hide_password=False).split("@")[-1] == postgres_url.split("@")[-1]
        assert store.engine.pool._pre_ping
        assert store.engine.hide_parameters
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("value", ["localhost:6379", "http://cache:6379", "memcached://cache"])
def test_a_redis_url_that_is_not_one_is_named(monkeypatch, value):
    monkeypatch.setenv("REDIS_URL", value)
    with pytest.raises(SettingsError, match="REDIS_URL must start with redis:// or rediss://"):
        get_settings()


def test_the_lock_store_endpoints_yml_names_is_redis_when_redis_url_is_set(monkeypatch):
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    written = endpoints(monkeypatch, REDIS_URL="redis://:hemmeleg@cache.internal:6380/2")
    store = LockStore.create(EndpointConfig.from_dict(written["lock_store"]))
    assert isinstance(store, RedisLockStore)
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == ("cache.internal", 6380, 2)

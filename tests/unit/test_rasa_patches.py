"""The Rasa internals that bot/rasa_server/patches/ and tracker_store.py replace still look as they
did in Rasa 3.6.21: an upgrade that changes one of them fails here, by name."""
from __future__ import annotations

import inspect

import pytest
from rasa.core import lock_store
from rasa.core.actions.action import RemoteAction
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

import bot.rasa_server
from bot.rasa_server.patches import paused, resilience, speedups
from bot.rasa_server.patches.originals import original

EXPECTED = [
    (RemoteAction, "run", ["self", "output_channel", "nlg", "tracker", "domain"]),
    (RemoteAction, "_utter_responses", ["responses", "output_channel", "nlg", "tracker"]),
    (RemoteAction, "_validate_action_result", ["self", "result"]),
    (RemoteAction, "action_response_format_spec", []),
    (RedisLockStore, "get_lock", ["self", "conversation_id"]),
    (LockStore, "_acquire_lock", ["self", "conversation_id", "ticket", "wait_time_in_seconds"]),
    (LockStore, "save_lock", ["self", "lock"]),
    (LockStore, "update_lock", ["self", "conversation_id"]),
    (MessageProcessor, "_should_handle_message", ["tracker"]),
    (SQLTrackerStore, "_event_query", ["self", "session", "sender_id", "fetch_events_from_all_sessions"]),
    (TrackerStore, "_stream_new_events", ["self", "event_broker", "new_events", "sender_id"]),
    (SQLTrackerStore, "stream_events", ["self", "tracker"]),
    (SQLTrackerStore, "retrieve", ["self", "sender_id"]),
    (SQLTrackerStore, "retrieve_full_tracker", ["self", "conversation_id"]),
    (SQLTrackerStore, "save", ["self", "tracker"]),
    # ArchivingSQLTrackerStore builds its engine itself and calls TrackerStore.__init__ directly.
    (TrackerStore, "__init__", ["self", "domain", "event_broker", "kwargs"]),
]


@pytest.mark.parametrize("owner, name, parameters", EXPECTED, ids=[f"{o.__name__}.{n}" for o, n, _ in EXPECTED])
def test_the_patched_rasa_function_is_still_there_with_its_signature(owner, name, parameters):
    # A patch may already be installed by another test: Rasa's own function is what is checked.
    function = original(owner, name)
    assert function is not None, f"Rasa 3.6.21 had {owner.__name__}.{name}"
    assert list(inspect.signature(function).parameters) == parameters


def test_rasa_is_the_version_the_patches_were_checked_against():
    import rasa

    assert rasa.__version__ == "3.6.21", "check every patch in bot/rasa_server/patches/__init__.py, then update"


def test_the_tracker_store_tables_are_still_declared_on_the_sql_store():
    assert "events" in SQLTrackerStore.Base.metadata.tables


def test_the_lock_lifetime_the_lock_store_patch_reads_still_exists():
    assert isinstance(lock_store.LOCK_LIFETIME, int)


def test_install_installs_every_patch_once(monkeypatch):
    calls = []
    monkeypatch.setattr(bot.rasa_server.patches, "_installed", False)
    for module, name in ((resilience, "apologise_when_action_server_fails"), (resilience, "harden_lock_store"),
                         (speedups, "install"), (paused, "install")):
        monkeypatch.setattr(module, name, lambda name=name: calls.append(name))
    bot.rasa_server.install()
    bot.rasa_server.install()
    assert sorted(calls) == ["apologise_when_action_server_fails", "harden_lock_store", "install", "install"]

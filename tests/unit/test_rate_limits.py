"""The public channels' rate limits and the handoff cap, piece by piece (bot/channels/limits.py,
bot/handoff/limit.py); tests/e2e/test_rate_limits.py drives them through the real servers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.storage.db import session_scope
from bot.archive.models import ArchiveRecord
from bot.archive.models import Handoff
from bot.rasa_server.recorder import ArchiveRecorder
from bot.channels.limits import SlidingWindow, accepted_language, client_address, client_key, refusal_text
from bot.handoff.limit import client_key_of, handoff_allowed
from bot.municipality import load_municipality
from bot.safety.numbers import number_slots

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_allows_the_limit_then_says_how_long_to_wait():
    clock = FakeClock()
    window = SlidingWindow(3, 60, clock=clock)
    assert [window.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert window.hit("a") == 40
    assert window.hit("b") is None  # another key has its own count
    clock.now += 41
    assert window.hit("a") is None  # a new window


def test_no_limit_means_every_event_passes():
    window = SlidingWindow(0)
    assert all(window.hit("a") is None for _ in range(10_000))


def test_a_flood_of_made_up_keys_cannot_grow_the_counters_without_bound():
    window = SlidingWindow(5, max_keys=100)
    for number in range(10_000):
        window.hit(f"sender-{number}")
    assert len(window._counts) == 100


@pytest.mark.parametrize("forwarded, proxies, expected", [
    (None, 0, "10.0.0.9"),
    ("203.0.113.7", 0, "10.0.0.9"),  # no trusted proxy: the header is the client's claim
    ("203.0.113.7", 1, "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # the forged left entry is ignored
    ("6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),
    ("203.0.113.7", 3, "203.0.113.7"),
])
def test_the_client_address_trusts_only_the_configured_proxies(forwarded, proxies, expected):
    assert client_address("10.0.0.9", forwarded, proxies) == expected


def test_the_client_key_is_stable_for_a_secret_and_hides_the_address():
    key = client_key("203.0.113.7", "secret-one")
    assert key == client_key("203.0.113.7", "secret-one")
    assert key != client_key("203.0.113.8", "secret-one")
    assert key != client_key("203.0.113.7", "secret-two")
    assert "203" not in key and len(key) == 32


@pytest.mark.parametrize("header, expected", [
    ("nn-NO,nn;q=0.9,en;q=0.5", "nn"), ("nb-NO,nb;q=0.9", "nb"), ("no", "nb"), ("sv-SE,sv;q=0.8", "sv"),
    ("en-GB,en;q=0.9", "nn"), ("", "nn"), (None, "nn"), ("de, fr, sv", "sv"),
])
def test_the_refusal_follows_the_browser_language(header, expected):
    assert accepted_language(header, ("nn", "nb", "sv"), "nn") == expected


@pytest.mark.parametrize("municipality", ["saltvika", "bjorkvalla"])
@pytest.mark.parametrize("language", ["nn", "nb", "sv"])
def test_the_refusal_names_the_emergency_numbers_and_the_switchboard(monkeypatch, municipality, language):
    from bot.core.config import get_settings

    monkeypatch.setenv("MUNICIPALITY", municipality)
    get_settings.cache_clear()
    try:
        profile = load_municipality()
        text = refusal_text(language)
    finally:
        get_settings.cache_clear()
    numbers = number_slots(profile.country, profile.local_numbers)
    emergency = [numbers["number_emergency"]] if profile.country == "SE" else [
        numbers["number_fire"], numbers["number_police"], numbers["number_ambulance"]]
    assert all(number and number in text for number in emergency), text
    assert profile.phone in text and "{" not in text


def user_event(sender: str, key: str | None, at: datetime, text: str = "eg vil snakke med ein person"):
    metadata = {"client_key": key} if key else {}
    return {"event": "user", "sender_id": sender, "timestamp": at.timestamp(), "text": text, "input_channel": "rest",
            "metadata": metadata, "parse_data": {"intent": {"name": "request_human", "confidence": 0.9}}}


def handoff_turn(sender: str, key: str | None, at: datetime, reason: str = "human_requested"):
    return [user_event(sender, key, at),
            {"event": "slot", "sender_id": sender, "timestamp": at.timestamp() + 0.1, "name": "handoff_reason",
             "value": reason}]


def test_the_client_key_comes_from_the_latest_citizen_message():
    events = [user_event("a", "old", NOW), {"event": "bot", "text": "hei"}, user_event("a", "new", NOW)]
    assert client_key_of(events) == "new"
    assert client_key_of([user_event("a", None, NOW)]) is None
    assert client_key_of([{"event": "bot"}]) is None


def test_the_handoff_keeps_the_key_and_the_archive_never_holds_it(archive_database_url):
    ArchiveRecorder(archive_database_url).record(handoff_turn("rest:k1", "f00d" * 8, NOW))
    with session_scope(archive_database_url) as session:
        [handoff] = session.execute(select(Handoff).where(Handoff.conversation_id == "rest:k1")).scalars().all()
        assert handoff.client_key == "f00d" * 8
        records = session.execute(select(ArchiveRecord).where(ArchiveRecord.conversation_id == "rest:k1")).scalars()
        assert all("f00d" not in str(record.data) for record in records)


def test_new_handoffs_are_capped_per_address_within_the_hour(archive_database_url):
    url, key = archive_database_url, "a" * 32
    recorder = ArchiveRecorder(url)
    for number in range(2):
        assert handoff_allowed(f"rest:c{number}", key, "human_requested", NOW, 2, url)
        recorder.record(handoff_turn(f"rest:c{number}", key, NOW - timedelta(minutes=10)))
    assert not handoff_allowed("rest:c2", key, "human_requested", NOW, 2, url)
    assert not handoff_allowed("rest:c2", key, "political", NOW, 2, url)
    # Another address, a crisis, a conversation that already waits, no key, or no cap: allowed.
    assert handoff_allowed("rest:c2", "b" * 32, "human_requested", NOW, 2, url)
    assert handoff_allowed("rest:c2", key, "crisis", NOW, 2, url)
    assert handoff_allowed("rest:c0", key, "human_requested", NOW, 2, url)
    assert handoff_allowed("rest:c2", None, "human_requested", NOW, 2, url)
    assert handoff_allowed("rest:c2", key, "human_requested", NOW, 0, url)
    # An hour later the address may ask again.
    assert handoff_allowed("rest:c2", key, "human_requested", NOW + timedelta(minutes=51), 2, url)

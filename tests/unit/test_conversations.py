"""Conversations are namespaced by channel and their secret is issued once and checked."""
from __future__ import annotations

import pytest

from bot.storage.db import upgrade
from bot.channels.conversations import (conversation_id, issue_secret, new_widget_conversation,
                                        secret_matches)


@pytest.fixture
def url(archive_database_url):
    upgrade(archive_database_url)
    return archive_database_url


def test_the_same_sender_on_two_channels_is_two_conversations():
    assert conversation_id("rest", "42") == "rest:42"
    assert conversation_id("widget", "42") == "widget:42"
    assert conversation_id("messenger", "42") == "42"
    assert len({conversation_id(c, "42") for c in ("rest", "widget", "messenger")}) == 3


def test_a_secret_is_issued_once_and_only_it_matches(url):
    secret = issue_secret("rest:42", url)
    assert secret and len(secret) >= 40
    assert issue_secret("rest:42", url) is None  # the second answer does not carry it again
    assert secret_matches("rest:42", secret, url)
    assert not secret_matches("rest:42", secret[:-1] + ("A" if secret[-1] != "A" else "B"), url)
    assert not secret_matches("rest:42", "", url) and not secret_matches("rest:42", None, url)
    assert not secret_matches("42", secret, url)  # the Messenger user 42 is someone else


def test_widget_conversations_are_issued_by_the_server(url):
    first, second = new_widget_conversation(url), new_widget_conversation(url)
    assert first[0] != second[0] and len(first[0]) == 32
    assert secret_matches(f"widget:{first[0]}", first[1], url)
    assert not secret_matches(f"widget:{first[0]}", second[1], url)

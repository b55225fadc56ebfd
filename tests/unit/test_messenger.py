"""The Messenger channel: webhook checks, background processing, ordering, deduplication, sending.

The channel's blueprint runs in a real Sanic server on a free loopback port (in the test's own
event loop), with a stub bot in place of Rasa and ``tests.fake_graph.FakeGraph`` in place of
Meta's Graph API. The archive is a temporary SQLite database.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from sanic import Sanic
from sqlalchemy import select

from bot.storage.db import session_scope, upgrade
from bot.archive.models import Kind
from bot.archive.models import OutboxDelivery, OutboxMessage
from bot.archive.records import append_record
from bot.channels import messenger
from bot.channels.messenger import (
    ATTACHMENT_PAYLOAD,
    WINDOW_CLOSED,
    MessengerInput,
    deliver_outbox,
    messenger_reply_window_open,
    read_event,
    signature_valid,
    split_text,
    to_quick_replies,
)
from bot.channels.models import MessengerSeenMessage
from bot.core.config import get_settings
from tests.fake_graph import FakeGraph
from tests.ports import free_port  # noqa: F401  (also imported from here by other tests)

SECRET = "app-secret-for-tests"
VERIFY = "verify-token-for-tests"
TOKEN = "page-token-for-tests"
PAGE = "104857600000001"
ALICE, BOB = "7001000000000001", "7001000000000002"


# --- helpers ----------------------------------------------------------------------------------



def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def text_event(sender: str, mid: str, text: str, timestamp: int = 1763370000000) -> Dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE}, "timestamp": timestamp,
            "message": {"mid": mid, "text": text}}


def page_body(*events: Dict[str, Any]) -> Dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": 1763370000000, "messaging": list(events)}]}


class Bot:
    """Stands in for Rasa's ``on_new_message``: records each message and answers it."""

    def __init__(self, delay: float = 0.0, answer=None) -> None:
        self.delay = delay
        self.answer = answer or (lambda message: [{"text": f"svar: {message.text}"}])
        self.messages: List[Any] = []
        self.finished: List[float] = []
        self.active: Dict[str, int] = {}
        self.overlaps = 0

    async def __call__(self, message) -> None:
        self.messages.append(message)
        self.active[message.sender_id] = self.active.get(message.sender_id, 0) + 1
        if self.active[message.sender_id] > 1:
            self.overlaps += 1
        try:
            for response in self.answer(message):
                await message.output_channel.send_response(message.sender_id, dict(response))
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.active[message.sender_id] -= 1
            self.finished.append(time.monotonic())

    def texts(self, sender: Optional[str] = None) -> List[str]:
        return [m.text for m in self.messages if sender is None or m.sender_id == sender]


async def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def serving(channel: MessengerInput, bot):
    """The channel's blueprint in a real Sanic server, with the server's start and stop listeners."""
    Sanic.test_mode = True  # several apps in one process (what sanic-testing does too)
    app = Sanic(f"messenger_test_{uuid.uuid4().hex[:12]}")
    app.blueprint(channel.blueprint(bot), url_prefix=f"/webhooks/{channel.name()}")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Client(http, f"http://127.0.0.1:{port}/webhooks/messenger")
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.webhook = f"{base}/webhook"

    async def post(self, payload: Any = None, *, raw: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None,
                   signed: bool = True):
        body = raw if raw is not None else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if signed:
            all_headers["X-Hub-Signature-256"] = sign(body)
        all_headers.update(headers or {})
        async with self.http.post(self.webhook, data=body, headers=all_headers) as response:
            return response.status, await response.text()

    async def get(self, params: Dict[str, str]):
        async with self.http.get(self.webhook, params=params) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.fixture
def database(archive_database_url, monkeypatch) -> str:
    url = archive_database_url
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    return url


@pytest.fixture
def graph():
    fake = FakeGraph(access_token=TOKEN, app_secret=SECRET, require_proof=True).start()
    yield fake
    fake.stop()


def make_channel(graph: FakeGraph, **overrides: Any) -> MessengerInput:
    settings = dict(verify_token=VERIFY, app_secret=SECRET, page_access_token=TOKEN,
                    graph_url=graph.url, graph_version="v21.0")
    settings.update(overrides)
    return MessengerInput(**settings)


def seen_mids(url: str) -> List[str]:
    with session_scope(url) as session:
        return list(session.execute(select(MessengerSeenMessage.mid)).scalars())


# --- configuration and verification -------------------------------------------------------------


def test_channel_is_served_as_messenger_and_reads_the_settings(monkeypatch):
    monkeypatch.setenv("MESSENGER_VERIFY_TOKEN", VERIFY)
    monkeypatch.setenv("MESSENGER_APP_SECRET", SECRET)
    monkeypatch.setenv("MESSENGER_PAGE_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("MESSENGER_GRAPH_URL", "http://127.0.0.1:9/")
    get_settings.cache_clear()
    channel = MessengerInput.from_credentials(None)
    assert MessengerInput.name() == "messenger" and channel.url_prefix() == "messenger"
    assert channel.configured
    assert channel.graph.url == "http://127.0.0.1:9/v21.0/me/messages"


async def test_verification_answers_the_challenge_for_the_right_token(database, graph):
    async with serving(make_channel(graph), Bot()) as client:
        status, content_type, text = await client.get(
            {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert (status, text) == (200, "1158201444")
    assert content_type.startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
    {"hub.verify_token": VERIFY, "hub.challenge": "42"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"},
    {"hub.mode": "subscribe", "hub.challenge": "42"},
], ids=["wrong-token", "no-mode", "unsubscribe", "no-token"])
async def test_verification_is_refused(database, graph, params):
    async with serving(make_channel(graph), Bot()) as client:
        status, _, text = await client.get(params)
    assert status == 403 and "42" not in text


@pytest.mark.parametrize("missing", ["app_secret", "verify_token"])
async def test_unconfigured_channel_answers_503_and_processes_nothing(database, graph, missing):
    bot = Bot()
    async with serving(make_channel(graph, **{missing: ""}), bot) as client:
        get_status, _, get_text = await client.get(
            {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"})
        post_status, post_text = await client.post(page_body(text_event(ALICE, "m_unconf", "hei")))
        await asyncio.sleep(0.3)
    assert get_status == post_status == 503
    assert "not configured" in json.loads(get_text)["error"] and "not configured" in json.loads(post_text)["error"]
    assert bot.messages == [] and graph.requests == [] and seen_mids(database) == []


# --- signatures and bodies ------------------------------------------------------------------------


async def test_signed_message_goes_to_the_bot_and_the_answer_to_the_send_api(database, graph):
    bot = Bot()
    async with serving(make_channel(graph), bot) as client:
        status, text = await client.post(page_body(text_event(ALICE, "m_first", "kva tid opnar de?")))
        assert (status, text) == (200, "EVENT_RECEIVED")
        sent = await asyncio.to_thread(graph.wait_for, 1)
    [message] = bot.messages
    assert (message.text, message.sender_id, message.input_channel, message.message_id) == (
        "kva tid opnar de?", ALICE, "messenger", "m_first")
    assert message.metadata == {"channel": "messenger", "page_id": PAGE, "timestamp": 1763370000000, "kind": "text"}
    assert sent == [{"recipient": {"id": ALICE}, "messaging_type": "RESPONSE",
                     "message": {"text": "svar: kva tid opnar de?"}}]
    request = graph.requests[0]
    assert request.path == "/v21.0/me/messages" and request.query["access_token"] == TOKEN
    assert seen_mids(database) == ["m_first"]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    {"X-Hub-Signature-256": "sha256=not-hex"},
    {"X-Hub-Signature-256": "md5=abc"},
    {"X-Hub-Signature": "sha1=SHA1"},
], ids=["missing", "wrong", "malformed", "other-algorithm", "sha1-only"])
async def test_bad_signatures_are_refused_and_nothing_is_processed(database, graph, headers):
    bot = Bot()
    body = json.dumps(page_body(text_event(ALICE, "m_sig", "hei"))).encode()
    if headers.get("X-Hub-Signature") == "sha1=SHA1":  # a correct SHA-1 signature, which is not enough
        headers = {"X-Hub-Signature": "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()}
    async with serving(make_channel(graph), bot) as client:
        status, _ = await client.post(raw=body, headers=headers, signed=False)
        await asyncio.sleep(0.3)
    assert status == 403
    assert bot.messages == [] and graph.requests == [] and seen_mids(database) == []


async def test_signature_made_with_another_secret_is_refused(database, graph):
    bot = Bot()
    body = json.dumps(page_body(text_event(ALICE, "m_other", "hei"))).encode()
    async with serving(make_channel(graph), bot) as client:
        status, _ = await client.post(raw=body, headers={"X-Hub-Signature-256": sign(body, "another-secret")},
                                      signed=False)
        await asyncio.sleep(0.2)
    assert status == 403 and bot.messages == []


@pytest.mark.parametrize("raw", [
    b"{not json",
    b"\xff\xfe\x00",
    b"[" * 100_000,
    json.dumps({"object": "instagram", "entry": []}).encode(),
    json.dumps({"object": "page", "entry": {"id": PAGE}}).encode(),
    json.dumps({"object": "page"}).encode(),
    json.dumps(["object", "page"]).encode(),
    b"null",
], ids=["broken", "not-utf8", "deeply-nested", "wrong-object", "entry-not-list", "no-entry", "list", "null"])
async def test_signed_bodies_that_are_not_page_events_get_400(database, graph, raw):
    bot = Bot()
    async with serving(make_channel(graph), bot) as client:
        status, _ = await client.post(raw=raw)
        await asyncio.sleep(0.1)
    assert status == 400 and bot.messages == []


async def test_bodies_over_one_megabyte_get_413(database, graph):
    bot = Bot()
    event = text_event(ALICE, "m_big", "x" * (1024 * 1024))
    async with serving(make_channel(graph), bot) as client:
        status, _ = await client.post(page_body(event))
        # The connection is still usable afterwards.
        ok, _ = await client.post(page_body(text_event(ALICE, "m_small", "hei")))
        await wait_until(lambda: len(bot.messages) == 1)
    assert (status, ok) == (413, 200)
    assert bot.texts() == ["hei"]


async def test_streamed_bodies_over_one_megabyte_get_413(database, graph):
    bot = Bot()

    async def chunks():  # chunked transfer: no Content-Length to judge by
        for _ in range(20):
            yield b"x" * 100_000

    async with serving(make_channel(graph), bot) as client:
        async with client.http.post(client.webhook, data=chunks(),
                                    headers={"X-Hub-Signature-256": sign(b"")}) as response:
            status = response.status
    assert status == 413 and bot.messages == []


async def test_hostile_events_are_skipped_and_the_rest_of_the_batch_is_processed(database, graph, caplog):
    bot = Bot()
    hostile = [
        "not an object",
        {"sender": {"id": ["7001"]}, "message": {"mid": "m_h1", "text": "hei"}},
        {"sender": {"id": "7001; DROP TABLE"}, "message": {"mid": "m_h2", "text": "hei"}},
        {"sender": {"id": ALICE}, "message": {"mid": "m_h3", "text": {"$gt": ""}}},
        {"sender": {"id": ALICE}, "message": {"text": "no mid"}},
        {"sender": {"id": ALICE}, "message": {"mid": "m" * 300, "text": "long mid"}},
        {"sender": {"id": ALICE}, "message": "just a string"},
        {"sender": {"id": ALICE}, "message": {"mid": "m_h5", "attachments": "image"}},
        {"sender": {"id": ALICE}, "message": {"mid": "m_h6", "quick_reply": {"payload": 17}}},
        {"sender": {"id": ALICE}, "postback": {"mid": "m_h7", "payload": "x" * 5000}},
        {"sender": {"id": ALICE}, "postback": {"mid": "m_h8"}},
        {"sender": {"id": ALICE}, "postback": {"mid": "m_h11", "payload": "/greet\x00"}},
        {"sender": {"id": ALICE}, "message": {"mid": "m_h12", "quick_reply": {"payload": "/greet\ud800"}}},
        {"sender": {"id": ALICE}, "message": {"mid": "m_h9"}},
        {"message": {"mid": "m_h10", "text": "no sender"}},
    ]
    body = {"object": "page", "entry": [
        {"id": PAGE, "messaging": hostile + [text_event(ALICE, "m_good", "gyldig")]},
        "entry that is a string",
        {"id": PAGE, "messaging": {"not": "a list"}},
        {"id": {"nested": True}, "messaging": [text_event(BOB, "m_good2", "òg gyldig")]},
    ]}
    with caplog.at_level(logging.WARNING, logger="bot.channels.messenger"):
        async with serving(make_channel(graph), bot) as client:
            status, _ = await client.post(body)
            await wait_until(lambda: len(bot.messages) == 2)
            await asyncio.to_thread(graph.wait_for, 2)
    assert status == 200
    assert sorted(bot.texts()) == ["gyldig", "òg gyldig"]
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) >= len(hostile) + 2


@pytest.mark.parametrize(
    "text, reason, stored",
    [
        ("hei " * 25_000, "too_long", "hei " * 25_000),
        ("hei\x00 og \x1b[31m", "control_characters", "hei\\x00 og \\x1b[31m"),
        ("hei \ud800", "invalid_unicode", "hei \\ud800"),
    ],
)
def test_unreadable_texts_reach_the_dialogue_as_an_intent_with_a_storable_copy(text, reason, stored):
    incoming = read_event(text_event(ALICE, "m_unreadable", text), PAGE)
    assert incoming.text == "/unreadable_message"
    assert incoming.metadata["kind"] == "unreadable" and incoming.metadata["reason"] == reason
    assert incoming.metadata["length"] == len(text)
    assert incoming.metadata["original_text"] == stored
    json.dumps(incoming.metadata, ensure_ascii=False).encode("utf-8")  # storable: no lone surrogate left


def test_ordinary_text_with_tabs_and_line_breaks_is_passed_on_unchanged():
    text = "Hei!\n\tKva tid opnar biblioteket?\r\n‮ 🙂"
    incoming = read_event(text_event(ALICE, "m_plain", text), PAGE)
    assert (incoming.text, incoming.metadata["kind"]) == (text, "text")


# --- background processing, order, duplicates ----------------------------------------------------


async def test_batches_are_processed_completely_and_in_order_per_sender(database, graph):
    bot = Bot(delay=0.1)
    body = {"object": "page", "entry": [
        {"id": PAGE, "time": 1, "messaging": [text_event(ALICE, "m_a1", "a1", 1), text_event(BOB, "m_b1", "b1", 2)]},
        {"id": PAGE, "time": 2, "messaging": [text_event(ALICE, "m_a2", "a2", 3), text_event(BOB, "m_b2", "b2", 4)]},
    ]}
    async with serving(make_channel(graph), bot) as client:
        assert (await client.post(body))[0] == 200
        assert (await client.post(page_body(text_event(ALICE, "m_a3", "a3", 5))))[0] == 200
        sent = await asyncio.to_thread(graph.wait_for, 5)
    assert bot.texts(ALICE) == ["a1", "a2", "a3"] and bot.texts(BOB) == ["b1", "b2"]
    assert bot.overlaps == 0  # one event of a sender at a time
    assert [b["message"]["text"] for b in sent if b["recipient"]["id"] == ALICE] == ["svar: a1", "svar: a2", "svar: a3"]
    assert [b["message"]["text"] for b in sent if b["recipient"]["id"] == BOB] == ["svar: b1", "svar: b2"]


async def test_a_sender_who_floods_is_told_once_where_to_call_and_others_go_on(database, graph):
    bot = Bot()
    events = [text_event(ALICE, f"m_flood{n}", f"a{n}", n) for n in range(6)] + [text_event(BOB, "m_bob", "b", 9)]
    async with serving(make_channel(graph, messages_per_minute=3), bot) as client:
        assert (await client.post({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": events}]}))[0] == 200
        sent = await asyncio.to_thread(graph.wait_for, 5)
        await asyncio.sleep(0.3)  # nothing more may come
    assert bot.texts(ALICE) == ["a0", "a1", "a2"] and bot.texts(BOB) == ["b"]
    to_alice = [b["message"]["text"] for b in graph.sent() if b["recipient"]["id"] == ALICE]
    refusals = [text for text in to_alice if not text.startswith("svar:")]
    assert len(to_alice) == 4 and len(refusals) == 1  # told once, not once per message
    assert all(number in refusals[0] for number in ("110", "112", "113"))


async def test_senders_are_processed_concurrently(database, graph):
    bot = Bot(delay=1.0)
    started = time.monotonic()
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(*(text_event(f"70010000000001{i:02d}", f"m_c{i}", "hei") for i in range(5))))
        await asyncio.to_thread(graph.wait_for, 5)
    assert time.monotonic() - started < 4


async def test_a_duplicate_delivery_is_processed_once(database, graph):
    bot = Bot(delay=0.2)
    body = page_body(text_event(ALICE, "m_dup", "berre ein gong"))
    async with serving(make_channel(graph), bot) as client:
        statuses = await asyncio.gather(*(client.post(body) for _ in range(3)))  # concurrently
        await wait_until(lambda: len(bot.finished) == 1)
        assert (await client.post(body))[0] == 200  # and once more later
        await asyncio.sleep(0.5)
    assert [s for s, _ in statuses] == [200, 200, 200]
    assert bot.texts() == ["berre ein gong"]
    assert graph.texts() == ["svar: berre ein gong"]
    assert seen_mids(database) == ["m_dup"]


async def test_concurrent_duplicates_at_two_servers_are_processed_once(database, graph):
    first_bot, second_bot = Bot(delay=0.2), Bot(delay=0.2)
    body = page_body(text_event(BOB, "m_two_servers", "hei"))
    async with serving(make_channel(graph), first_bot) as first, serving(make_channel(graph), second_bot) as second:
        await asyncio.gather(first.post(body), second.post(body), first.post(body), second.post(body))
        await asyncio.sleep(1.0)
    assert len(first_bot.messages) + len(second_bot.messages) == 1
    assert len(graph.sent()) == 1


async def test_a_message_seen_before_a_restart_is_ignored(database, graph):
    body = page_body(text_event(ALICE, "m_restart", "før omstart"))
    before = Bot()
    async with serving(make_channel(graph), before) as client:
        await client.post(body)
        await asyncio.to_thread(graph.wait_for, 1)
    after = Bot()  # a new channel instance: nothing in memory, the same database
    async with serving(make_channel(graph), after) as client:
        assert (await client.post(body))[0] == 200
        await client.post(page_body(text_event(ALICE, "m_after", "etter omstart")))
        await wait_until(lambda: len(after.messages) == 1)
        await asyncio.sleep(0.3)
    assert before.texts() == ["før omstart"] and after.texts() == ["etter omstart"]


async def test_echoes_reads_deliveries_reactions_and_unknown_events_are_ignored(database, graph, caplog):
    bot = Bot()
    ignored = [
        {"sender": {"id": PAGE}, "recipient": {"id": ALICE}, "timestamp": 1,
         "message": {"mid": "m_echo", "is_echo": True, "app_id": 1517776481860111, "text": "svar frå sida"}},
        {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 2, "read": {"watermark": 1458668856253}},
        {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 3,
         "delivery": {"mids": ["m_x"], "watermark": 1458668856253}},
        {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 4,
         "reaction": {"reaction": "love", "emoji": "❤", "action": "react", "mid": "m_x"}},
        {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 5, "game_play": {"score": 3}},
    ]
    with caplog.at_level(logging.DEBUG, logger="bot.channels.messenger"):
        async with serving(make_channel(graph), bot) as client:
            status, _ = await client.post(page_body(*ignored))
            await asyncio.sleep(0.3)
    assert status == 200
    assert bot.messages == [] and graph.requests == [] and seen_mids(database) == []
    assert sum("ignored" in r.getMessage() for r in caplog.records
               if r.levelno == logging.DEBUG and r.name == "bot.channels.messenger") == len(ignored)


@pytest.mark.parametrize("message, types", [
    ({"attachments": [{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/a.jpg"}}]}, ["image"]),
    ({"attachments": [{"type": "audio", "payload": {"url": "https://cdn.fbsbx.com/v.mp4"}}]}, ["audio"]),
    ({"attachments": [{"type": "file", "payload": {"url": "https://cdn.fbsbx.com/a.pdf"}},
                      {"type": "video", "payload": {"url": "https://cdn.fbsbx.com/b.mp4"}}]}, ["file", "video"]),
    ({"sticker_id": 369239263222822,
      "attachments": [{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/s.png",
                                                     "sticker_id": 369239263222822}}]}, ["image", "sticker"]),
    ({"sticker_id": 369239263222822}, ["sticker"]),
], ids=["image", "voice", "file-and-video", "sticker", "sticker-only"])
async def test_attachments_stickers_and_voice_become_attachment_received(database, graph, message, types):
    bot = Bot()
    event = {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 7,
             "message": {"mid": "m_att", **message}}
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(event))
        await wait_until(lambda: len(bot.messages) == 1)
    [received] = bot.messages
    assert received.text == ATTACHMENT_PAYLOAD == "/attachment_received"
    assert received.metadata["kind"] == "attachment" and received.metadata["attachments"] == types


async def test_quick_reply_and_postback_payloads_go_to_the_bot(database, graph):
    bot = Bot()
    quick = {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 8,
             "message": {"mid": "m_qr", "text": "Opningstider", "quick_reply": {"payload": "/ask_opening_hours"}}}
    postback = {"sender": {"id": ALICE}, "recipient": {"id": PAGE}, "timestamp": 9,
                "postback": {"mid": "m_pb", "title": "Kontakt oss", "payload": "/ask_contact"}}
    old_postback = {"sender": {"id": BOB}, "recipient": {"id": PAGE}, "timestamp": 10,
                    "postback": {"title": "Kom i gang", "payload": "/greet"}}
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(quick, postback, old_postback))
        await client.post(page_body(old_postback))  # no mid: recognised by sender, time and payload
        await wait_until(lambda: len(bot.messages) == 3)
        await asyncio.sleep(0.3)
    assert bot.texts(ALICE) == ["/ask_opening_hours", "/ask_contact"] and bot.texts(BOB) == ["/greet"]
    first, second = [m for m in bot.messages if m.sender_id == ALICE]
    [third] = [m for m in bot.messages if m.sender_id == BOB]
    assert (first.message_id, first.metadata["kind"], first.metadata["title"]) == ("m_qr", "quick_reply", "Opningstider")
    assert (second.message_id, second.metadata["kind"], second.metadata["title"]) == ("m_pb", "postback", "Kontakt oss")
    assert third.message_id.startswith("postback:")


async def test_slow_turn_is_acknowledged_at_once_and_answered_after_the_turn(database, graph):
    bot = Bot(delay=3.0)
    async with serving(make_channel(graph), bot) as client:
        started = time.monotonic()
        status, _ = await client.post(page_body(text_event(ALICE, "m_slow", "treg")))
        acknowledged = time.monotonic() - started
        assert graph.requests == []  # the answer is collected during the turn, not sent
        await asyncio.to_thread(graph.wait_for, 1, 10)
        answered = time.monotonic()
    assert status == 200 and acknowledged < 1.0
    assert answered - started >= 3.0
    assert answered >= bot.finished[0]  # sent only once the turn was over


# --- what is sent -----------------------------------------------------------------------------


async def test_long_text_is_split_under_2000_characters(database, graph):
    sentence = "Servicetorget har ope måndag til fredag, og du kan òg skrive til oss når som helst. "
    long_text = sentence * 60  # about 5,000 characters
    bot = Bot(answer=lambda m: [{"text": long_text, "buttons": [{"title": "Kontakt oss", "payload": "/ask_contact"}]}])
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(text_event(ALICE, "m_long", "fortel alt")))
        sent = await asyncio.to_thread(graph.wait_for, 3)
        await asyncio.sleep(0.3)
    sent = graph.sent()
    texts = [b["message"]["text"] for b in sent]
    assert len(texts) == 3 and all(len(t) <= 2000 for t in texts)
    assert all(t.endswith(".") for t in texts)  # cut at sentence ends
    assert " ".join(texts) == long_text.strip()
    assert [("quick_replies" in b["message"]) for b in sent] == [False, False, True]


async def test_buttons_become_at_most_13_quick_replies_with_short_titles(database, graph):
    buttons = [{"title": f"Eit svært langt knappenamn nummer {i}", "payload": f"/choice_{i}"} for i in range(15)]
    bot = Bot(answer=lambda m: [{"text": "Vel eitt:", "buttons": buttons}])
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(text_event(ALICE, "m_buttons", "val")))
        [body] = await asyncio.to_thread(graph.wait_for, 1)
    replies = body["message"]["quick_replies"]
    assert len(replies) == 13
    assert all(r["content_type"] == "text" and len(r["title"]) <= 20 for r in replies)
    assert [r["payload"] for r in replies] == [f"/choice_{i}" for i in range(13)]
    assert replies[0]["title"] == "Eit svært langt kna…"
    assert "quick_replies" in body["message"] and body["message"]["text"] == "Vel eitt:"


async def test_a_graph_500_is_retried_once(database, graph):
    graph.fail_next(1)
    bot = Bot()
    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(text_event(ALICE, "m_retry", "hei")))
        await asyncio.to_thread(graph.wait_for, 1)
    assert [r.status for r in graph.requests] == [500, 200]


async def test_graph_errors_are_logged_with_metas_message_and_the_channel_goes_on(database, graph, caplog):
    graph.fail_next(2)
    bot = Bot()
    with caplog.at_level(logging.WARNING, logger="bot.channels.graph"):
        async with serving(make_channel(graph), bot) as client:
            await client.post(page_body(text_event(ALICE, "m_fail", "hei")))
            await wait_until(lambda: len(graph.requests) == 2)
            await client.post(page_body(text_event(ALICE, "m_after_fail", "igjen")))
            await asyncio.to_thread(graph.wait_for, 1)
    assert [r.status for r in graph.requests] == [500, 500, 200]
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "bot.channels.graph"]
    assert "HTTP 500" in error.getMessage() and "An unexpected error has occurred" in error.getMessage()
    assert TOKEN not in caplog.text


async def test_a_bad_request_is_logged_with_metas_error_and_not_retried(database, graph, caplog):
    channel = make_channel(graph, page_access_token="expired-token")
    with caplog.at_level(logging.WARNING, logger="bot.channels.graph"):
        async with serving(channel, Bot()) as client:
            await client.post(page_body(text_event(ALICE, "m_bad_token", "hei")))
            await wait_until(lambda: len(graph.requests) == 1)
            await asyncio.sleep(1.0)
    assert [r.status for r in graph.requests] == [400]
    assert "HTTP 400, code 190" in caplog.text and "Invalid OAuth access token" in caplog.text
    assert "expired-token" not in caplog.text


async def test_a_failing_bot_turn_sends_nothing_and_the_channel_goes_on(database, graph):
    calls = []

    async def bot(message):
        calls.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": "halvferdig"})
        if message.text == "krasj":
            raise RuntimeError("the turn failed")

    async with serving(make_channel(graph), bot) as client:
        await client.post(page_body(text_event(ALICE, "m_crash", "krasj"), text_event(ALICE, "m_ok", "greitt")))
        await asyncio.to_thread(graph.wait_for, 1)
        await asyncio.sleep(0.2)
    assert calls == ["krasj", "greitt"] and len(graph.sent()) == 1


# --- staff replies ---------------------------------------------------------------------------------


def add_conversation(url: str, psid: str, last_message_at: datetime, texts: List[str]) -> List[int]:
    """A Messenger conversation with one citizen message and staff messages in the outbox."""
    with session_scope(url) as session:
        append_record(session, psid, Kind.CITIZEN_MESSAGE, last_message_at, channel="messenger",
                      sender_id=psid, text="eg vil snakke med eit menneske", language="nn")
        ids = []
        for text in texts:
            record = append_record(session, psid, Kind.STAFF_MESSAGE, datetime.now(timezone.utc),
                                   channel="messenger", sender_id="kari", text=text, language="nn")
            message = OutboxMessage(conversation_id=psid, channel="messenger", recipient_id=psid, text=text,
                                    author="kari", created_at=datetime.now(timezone.utc), record_id=record.id)
            session.add(message)
            session.flush()
            ids.append(message.id)
    return ids


def deliveries(url: str) -> Dict[int, OutboxDelivery]:
    with session_scope(url) as session:
        return {d.outbox_id: d for d in session.execute(select(OutboxDelivery)).scalars()}


async def test_staff_message_within_7_days_is_sent_with_the_human_agent_tag(database, graph):
    now = datetime.now(timezone.utc)
    [first, second] = add_conversation(database, ALICE, now - timedelta(days=6, hours=23),
                                       ["Hei, eg heiter Kari og hjelper deg.", "Saka di er under handsaming."])
    async with serving(make_channel(graph), Bot()):
        sent = await asyncio.to_thread(graph.wait_for, 2)
        await wait_until(lambda: len(deliveries(database)) == 2)
    assert sent == [
        {"recipient": {"id": ALICE}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
         "message": {"text": "Hei, eg heiter Kari og hjelper deg."}},
        {"recipient": {"id": ALICE}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
         "message": {"text": "Saka di er under handsaming."}},
    ]
    rows = deliveries(database)
    assert rows[first].delivered and rows[second].delivered
    assert messenger_reply_window_open(ALICE)


async def test_staff_message_after_7_days_is_refused_with_a_clear_detail(database, graph):
    [outbox_id] = add_conversation(database, BOB, datetime.now(timezone.utc) - timedelta(days=7, minutes=5),
                                   ["Beklagar at det tok tid."])
    async with serving(make_channel(graph), Bot()):
        await wait_until(lambda: len(deliveries(database)) == 1)
        await asyncio.sleep(2.5)  # a later poll does not try again
    delivery = deliveries(database)[outbox_id]
    assert delivery.delivered is False
    assert delivery.detail == WINDOW_CLOSED == (
        "Messenger only allows replies within 7 days of the citizen's last message; "
        "contact the citizen another way")
    assert graph.requests == []
    assert not messenger_reply_window_open(BOB)


def test_reply_window_follows_the_citizens_last_message(database):
    moment = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)
    add_conversation(database, ALICE, moment, [])
    assert messenger_reply_window_open(ALICE, now=moment + timedelta(days=7))
    assert not messenger_reply_window_open(ALICE, now=moment + timedelta(days=7, seconds=1))
    assert not messenger_reply_window_open("7009999999999999", now=moment)  # no message at all


def test_staff_delivery_waits_while_the_graph_api_is_down_and_keeps_the_order(database, graph):
    ids = add_conversation(database, ALICE, datetime.now(timezone.utc), ["første", "andre"])
    client = make_channel(graph).graph
    graph.fail_next(2)  # the first message's attempt and its retry
    assert deliver_outbox(client) == {"later": 1}
    assert deliveries(database) == {}  # rolled back: nothing recorded, the second waited
    assert deliver_outbox(client) == {"sent": 2}
    assert graph.texts() == ["første", "andre"]
    assert all(deliveries(database)[i].delivered for i in ids)


def test_staff_delivery_records_metas_refusal(database, graph):
    [outbox_id] = add_conversation(database, ALICE, datetime.now(timezone.utc), ["hei"])
    graph.unavailable.add(ALICE)  # the citizen blocked the page
    assert deliver_outbox(make_channel(graph).graph) == {"failed": 1}
    delivery = deliveries(database)[outbox_id]
    assert delivery.delivered is False
    assert delivery.detail == "Graph API refused the message (HTTP 400, code 551): (#551) This person isn't available right now."
    assert deliver_outbox(make_channel(graph).graph) == {}  # recorded once, not tried again


def test_staff_messages_wait_while_the_page_token_is_invalid(database, graph):
    [outbox_id] = add_conversation(database, ALICE, datetime.now(timezone.utc), ["hei"])
    assert deliver_outbox(make_channel(graph, page_access_token="revoked").graph) == {"later": 1}
    assert deliveries(database) == {}
    assert deliver_outbox(make_channel(graph).graph) == {"sent": 1}  # after the operator fixed the token
    assert deliveries(database)[outbox_id].delivered


def test_two_servers_never_send_a_staff_message_twice(database, graph):
    ids = add_conversation(database, ALICE, datetime.now(timezone.utc), [f"melding {i}" for i in range(6)])
    graph.delay = 0.05
    clients = [make_channel(graph).graph for _ in range(2)]
    threads = [threading.Thread(target=deliver_outbox, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(graph.texts()) == sorted(f"melding {i}" for i in range(6))
    assert set(deliveries(database)) == set(ids)


# --- building blocks --------------------------------------------------------------------------------


def test_signature_check():
    body = b'{"object":"page"}'
    good = sign(body)
    assert signature_valid(SECRET, body, good)
    assert signature_valid(SECRET, body, good.upper().replace("SHA256=", "sha256="))
    assert not signature_valid(SECRET, body + b" ", good)
    assert not signature_valid(SECRET, body, good[:-1])
    assert not signature_valid(SECRET, body, None)
    assert not signature_valid("", body, sign(body, ""))


def test_split_text_prefers_sentences_then_words():
    assert split_text("Kort.") == ["Kort."]
    words = ("ord " * 1200).strip()
    parts = split_text(words)
    assert all(len(p) <= 2000 for p in parts) and " ".join(parts) == words
    assert all(not p.endswith("or") for p in parts[:-1])  # never inside a word
    unbroken = "x" * 4500
    assert [len(p) for p in split_text(unbroken)] == [2000, 2000, 500]


def test_quick_replies_from_buttons():
    replies, links = to_quick_replies([
        {"title": "Snakk med ein tilsett", "payload": "/request_human"},
        {"title": "Nettsida", "url": "https://www.saltvika.kommune.no", "type": "web_url"},
        {"title": "", "payload": "/x"},
        "not a button",
    ])
    assert replies == [{"content_type": "text", "title": "Snakk med ein tilse…", "payload": "/request_human"}]
    assert links == ["Nettsida: https://www.saltvika.kommune.no"]


def test_read_event_ignores_echoes_and_reads_text():
    assert read_event({"sender": {"id": ALICE}, "message": {"mid": "m1", "is_echo": True, "text": "x"}}) is None
    incoming = read_event(text_event(ALICE, "m2", "hei"), PAGE)
    assert (incoming.sender_id, incoming.mid, incoming.text) == (ALICE, "m2", "hei")
    with pytest.raises(messenger.Skipped):
        read_event({"sender": {"id": ALICE}, "message": {"mid": "m3", "text": 5}})

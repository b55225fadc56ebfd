"""End to end: bad input through every channel of the real servers, then 10,000 random messages.

``make run`` is started once for this module, with Messenger pointing at ``tests.fake_graph``.
Each channel gets an empty message, whitespace only, 100 kB of text, control characters, invalid
UTF-8, deeply nested JSON and wrong content types; then a seeded stream of random messages and
random broken bodies goes to the REST, widget and Messenger channels with a few concurrent
clients. Never a 500, never a crash: a documented 4xx or a polite reply; the servers still answer
a normal message afterwards; and every message a channel accepted is in the archive.

``BAD_INPUT_RANDOM_MESSAGES`` (default 10,000) changes the number of random messages.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import string
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
import requests
from sqlalchemy import create_engine, text

from bot.core.responses import response_text
from tests.e2e.assistant import RunningAssistant, rest
from tests.e2e.conftest import TUESDAY_MORNING
from tests.fake_graph import FakeGraph

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_SECRET = "bad-input-app-secret"
VERIFY_TOKEN = "bad-input-verify-token"
PAGE_TOKEN = "bad-input-page-token"
PAGE_ID = "104857600000077"
JSON = "application/json"
RANDOM_MESSAGES = int(os.environ.get("BAD_INPUT_RANDOM_MESSAGES", "10000"))
CLIENTS = 6
DOCUMENTED = {200, 400, 403, 413}  # 403: Messenger, a wrong signature

#: Accepted citizen messages per conversation, to compare with the archive at the end.
ACCEPTED: Dict[str, int] = {}


@pytest.fixture(scope="module")
def graph():
    fake = FakeGraph(access_token=PAGE_TOKEN, app_secret=APP_SECRET, require_proof=True).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, graph):
    running = RunningAssistant(
        tmp_path_factory.mktemp("bad-input"), MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING,
        MESSENGER_APP_SECRET=APP_SECRET, MESSENGER_VERIFY_TOKEN=VERIFY_TOKEN,
        MESSENGER_PAGE_ACCESS_TOKEN=PAGE_TOKEN, MESSENGER_GRAPH_URL=graph.url, LOG_LEVEL="WARNING",
    ).start()
    yield running
    running.stop()


def accepted(sender: str) -> None:
    ACCEPTED[sender] = ACCEPTED.get(sender, 0) + 1


def post(assistant: RunningAssistant, channel: str, body: bytes,
         content_type: Optional[str] = JSON) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{assistant.url}/webhooks/{channel}/webhook", data=body, headers=headers, timeout=120)


def signed(body: bytes) -> Dict[str, str]:
    return {"Content-Type": JSON,
            "X-Hub-Signature-256": "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()}


def page_event(psid: str, mid: str, message: Dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000),
         "message": {"mid": mid, **message}}]}]}).encode()


def archived(assistant: RunningAssistant) -> Dict[str, List[Tuple[str, Dict]]]:
    """Citizen messages in the archive: conversation → [(text, data)]."""
    engine = create_engine(f"sqlite:///{Path(assistant.data_dir) / 'archive.db'}")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT conversation_id, text, data FROM archive_records WHERE kind = 'citizen_message' ORDER BY seq"
        )).all()
    engine.dispose()
    found: Dict[str, List[Tuple[str, Dict]]] = {}
    for conversation, message, data in rows:
        found.setdefault(conversation, []).append((message, json.loads(data) if isinstance(data, str) else data))
    return found


def bad_bodies(sender: str) -> List[Tuple[str, bytes, Optional[str], int, str]]:
    """(what, body, content type, expected status, words in the error) for the REST and widget channels."""
    def body(message: Any) -> bytes:
        return json.dumps({"sender": sender, "message": message}).encode()

    deep = b"[" * 75_000 + b"]" * 75_000
    return [
        ("empty body", b"", JSON, 400, "not valid JSON"),
        ("empty message", body(""), JSON, 400, "empty"),
        ("whitespace only", body(" \t\n\u00a0 "), JSON, 400, "empty"),
        ("100 kB of text", body("hei " * 25_000), JSON, 413, "at most 5000"),
        ("control characters", body("hei\x00\x01\x1b[31m"), JSON, 400, "control characters"),
        ("invalid UTF-8", b'{"sender": "%s", "message": "hei \xff\xfe"}' % sender.encode(), JSON, 400, "UTF-8"),
        ("unpaired surrogate", b'{"sender": "%s", "message": "hei \\ud800"}' % sender.encode(), JSON, 400, "UTF-8"),
        ("deeply nested JSON, 150 kB", deep, JSON, 413, "larger than"),
        ("deeply nested JSON, 40 kB", b"[" * 20_000 + b"]" * 20_000, JSON, 400, "nested too deeply"),
        ("a JSON list", b"[]", JSON, 400, "JSON object"),
        ("text/plain", body("hei"), "text/plain", 400, "Content-Type"),
        ("form", b"sender=x&message=hei", "application/x-www-form-urlencoded", 400, "Content-Type"),
        ("XML", b"<message>hei</message>", "application/xml", 400, "Content-Type"),
        ("no content type", body("hei"), None, 400, "Content-Type"),
        ("message is a number", body(42), JSON, 400, "message must be a string"),
        ("message is an object", body({"text": "hei"}), JSON, 400, "message must be a string"),
    ]


@pytest.mark.parametrize("channel, sender", [("rest", "bad-input-rest-1"), ("widget", "bad-input-widget-1")])
def test_bad_requests_get_a_documented_4xx_and_nothing_is_archived(assistant, channel, sender):
    for what, body, content_type, status, words in bad_bodies(sender):
        answer = post(assistant, channel, body, content_type)
        assert (what, answer.status_code) == (what, status), answer.text[:300]
        assert words in answer.json()["error"], (what, answer.text[:300])
    # The REST channel used to file requests without a sender under one conversation, "default".
    assert post(assistant, "rest", json.dumps({"message": "hei"}).encode()).status_code == 400
    assert post(assistant, "rest", json.dumps({"sender": {"x": 1}, "message": "hei"}).encode()).status_code == 400
    assert post(assistant, "rest", json.dumps(
        {"sender": sender, "message": "hei", "input_channel": {"x": 1}}).encode()).status_code == 400
    # Still answering, and only this accepted message is archived.
    if channel == "widget":
        # The widget's conversations are the server's to issue: a made-up id is refused...
        made_up = post(assistant, channel, json.dumps({"sender": sender, "message": "hei"}).encode())
        assert made_up.status_code == 401 and made_up.json()["error"]
        # ...and a conversation starts without one.
        normal = post(assistant, channel, json.dumps({"message": "kva tid har de ope?"}).encode())
        conversation = "widget:" + normal.headers["X-Conversation-Id"]
        assert normal.headers["X-Conversation-Secret"]
    else:
        normal = post(assistant, channel, json.dumps({"sender": sender, "message": "kva tid har de ope?"}).encode())
        conversation = rest(sender)
    accepted(conversation)
    assert normal.status_code == 200 and normal.json()[0]["text"]
    found = archived(assistant)
    assert [message for message, _ in found[conversation]] == ["kva tid har de ope?"]
    assert "default" not in found and "rest:default" not in found


def test_outbox_refuses_bad_senders_with_400(assistant):
    url = f"{assistant.url}/webhooks/outbox/messages"
    for query in ("", "?sender=", "?sender=" + "x" * 300, "?sender=a%00b", "?sender=%ff%fe", "?sender=%1b[31m",
                  "?sender=%ed%a0%80"):
        answer = requests.get(url + query, timeout=30)
        assert answer.status_code == 400, (query, answer.status_code, answer.text[:200])
        assert answer.json()["error"]
    assert requests.post(url, data=b"{}", timeout=30).status_code == 405
    first = post(assistant, "rest", json.dumps({"sender": "bad-input-outbox", "message": "hei"}).encode())
    accepted(rest("bad-input-outbox"))
    secret = first.headers["X-Conversation-Secret"]
    assert requests.get(url, params={"sender": "bad-input-outbox"}, timeout=30).status_code == 401
    assert requests.get(url, params={"sender": "bad-input-outbox"}, headers={"X-Conversation-Secret": "x" + secret},
                        timeout=30).status_code == 401
    assert requests.get(url, params={"sender": "bad-input-outbox"}, headers={"X-Conversation-Secret": secret},
                        timeout=30).json() == {"messages": []}


def test_messenger_bad_input_is_refused_or_answered_politely(assistant, graph):
    url = f"{assistant.url}/webhooks/messenger/webhook"
    # Not JSON, or nested beyond reason: 400, even when signed.
    for body in (b'{"object": "page", "entry": [\xff]}', b"[" * 50_000 + b"]" * 50_000, b""):
        answer = requests.post(url, data=body, headers=signed(body), timeout=30)
        assert answer.status_code == 400, answer.text
    # The signature decides, not the content type.
    body = page_event("8300000000000001", "m_bad_ct", {"text": "hei"})
    answer = requests.post(url, data=body, timeout=30, headers={**signed(body), "Content-Type": "text/plain"})
    assert (answer.status_code, answer.text) == (200, "EVENT_RECEIVED")
    accepted("8300000000000001")
    # Too long, control characters, unpaired surrogates: acknowledged, archived, answered politely.
    unreadable = {"8300000000000002": "hei " * 25_000, "8300000000000003": "hei\x00\x07\x1b[31m",
                  "8300000000000004": "hei \ud800"}
    for psid, message in unreadable.items():
        body = page_event(psid, f"m_bad_{psid}", {"text": message})
        assert requests.post(url, data=body, headers=signed(body), timeout=30).status_code == 200
        accepted(psid)
    # Empty and whitespace-only texts cannot come from Messenger: acknowledged and skipped.
    for psid, message in (("8300000000000005", ""), ("8300000000000006", " \n\t ")):
        body = page_event(psid, f"m_bad_{psid}", {"text": message})
        assert requests.post(url, data=body, headers=signed(body), timeout=30).status_code == 200
    polite = response_text("utter_unreadable_message", {"language": "nn"})
    sent = graph.wait_for(lambda all_sent: all(
        any(b["recipient"]["id"] == psid for b in all_sent) for psid in [*unreadable, "8300000000000001"]), 120)
    for psid in unreadable:
        assert [b["message"]["text"] for b in sent if b["recipient"]["id"] == psid] == [polite]
    found = archived(assistant)
    for psid, message in unreadable.items():
        [(payload, data)] = found[psid]
        assert payload == "/unreadable_message" and data["metadata"]["length"] == len(message)
    assert found["8300000000000002"][0][1]["metadata"]["original_text"] == "hei " * 25_000
    assert found["8300000000000003"][0][1]["metadata"]["original_text"] == "hei\\x00\\x07\\x1b[31m"
    assert "8300000000000005" not in found and "8300000000000006" not in found


# --- random messages --------------------------------------------------------------------------------

WORDS = ("hei", "kva", "tid", "opnar", "biblioteket", "når", "åpent", "hvordan", "søker", "barnehage", "tack",
         "öppet", "kommunen", "brann", "politikk", "skule", "vei", "søppel", "avgift", "jeg", "eg", "ikkje")
ODD = "\x00\x01\x07\x0b\x1b\x7f\x85\u200b\u200e\u202e\ufeff\ufffd\u00a0\u2028🙂👍🏽🇳🇴Ω€ł" + "\t\n\r"


def random_text(rng: random.Random) -> str:
    """A message a person, a broken client or a hostile one might type."""
    kind = rng.random()
    if kind < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) + rng.choice(["", "?", "!", "."])
    if kind < 0.65:
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 200)))
    if kind < 0.8:
        return "".join(rng.choice(ODD + "abcæøå ") for _ in range(rng.randint(0, 40)))
    if kind < 0.9:
        return "/" + "".join(rng.choice(string.ascii_lowercase + "_{}\":") for _ in range(rng.randint(0, 30)))
    return "".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(rng.randint(1, 60)))


def broken_body(rng: random.Random, sender: str) -> Tuple[bytes, Optional[str]]:
    """A request body (and content type) that a channel must refuse or skip."""
    def body(**fields: Any) -> bytes:
        return json.dumps(fields).encode()

    kind = rng.randrange(11)
    if kind == 0:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300))), JSON
    if kind == 1:
        whole = body(sender=sender, message=random_text(rng))
        return whole[: rng.randint(0, len(whole) - 1)], JSON
    if kind == 2:
        return body(sender=sender, message=random_text(rng)), rng.choice(
            ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml", None])
    if kind == 3:
        return body(sender=sender, message=rng.choice([None, 42, [], {}, True, ["hei"], {"text": "hei"}])), JSON
    if kind == 4:
        return body(sender=sender, message=rng.choice(["", " ", "\t\n", "\u00a0 \u3000"])), JSON
    if kind == 5:
        return body(sender=sender, message=rng.choice(WORDS) * rng.randint(2000, 5000)), JSON  # over 5,000
    if kind == 6:
        return body(sender=sender, message=rng.choice(WORDS) + "".join(rng.choice("\x00\x01\x08\x1b\x7f\x9f")
                                                                        for _ in range(rng.randint(1, 5)))), JSON
    if kind == 7:
        depth = rng.randint(2_000, 60_000)
        return rng.choice([b"[", b'{"a":']) * depth + b"1" + rng.choice([b"]", b"}"]) * depth, JSON
    if kind == 8:
        return b'{"sender": "%s", "message": "hei %s"}' % (sender.encode(), rng.choice(
            [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\ud800", b"\\udfff x"])), JSON
    if kind == 9:
        return body(sender=rng.choice([None, 7, {"id": sender}, "", "a b", "x" * 200, "a\x00b", "../etc"]),
                    message="hei"), JSON
    unknown_field = rng.choice(["input_channel", "channel", "stream", "x"])
    return body(sender=sender, message="hei", **{unknown_field: {"y": 1}}), JSON


def broken_page_event(rng: random.Random, psid: str, mid: str) -> Tuple[bytes, Dict[str, str]]:
    """A Messenger delivery that is refused (400/403) or acknowledged and skipped (200)."""
    kind = rng.randrange(5)
    if kind == 0:
        raw = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300)))
        return raw, signed(raw)
    if kind == 1:
        raw = page_event(psid, mid, {"text": "hei"})
        return raw, {**signed(raw), "X-Hub-Signature-256": "sha256=" + "0" * 64}
    if kind == 2:
        raw = json.dumps({"object": rng.choice(["user", None, 5]), "entry": rng.choice([[], {}, None])}).encode()
        return raw, signed(raw)
    if kind == 3:
        raw = page_event(psid, mid, {"text": rng.choice(["", " ", "\n\t"])})
        return raw, signed(raw)
    raw = page_event(psid, mid, rng.choice([{"text": 5}, {"text": None}, {"attachments": "x"},
                                            {"quick_reply": {"payload": "/greet\x00"}}]))
    return raw, signed(raw)


# One message in ten is something a person could have written; the rest are broken requests,
# which cost the servers little, so that 10,000 finish in a few minutes on two cores.
PLAUSIBLE_SHARE = 0.1


def random_request(rng: random.Random, index: int, senders: List[str],
                   widgets: List[Tuple[str, str]]) -> Tuple[str, bytes, Dict[str, str], str]:
    """(channel, body, headers, conversation) for one random message."""
    channel = rng.choices(["rest", "widget", "messenger"], weights=[40, 40, 20])[0]
    sender = rng.choice(senders)
    if channel == "widget":
        sender, secret = rng.choice(widgets)
        raw, content_type = ((json.dumps({"sender": sender, "message": random_text(rng)}).encode(), JSON)
                             if rng.random() < PLAUSIBLE_SHARE else broken_body(rng, sender))
        headers = {"X-Conversation-Secret": secret, **({"Content-Type": content_type} if content_type else {})}
        return channel, raw, headers, f"widget:{sender}"
    plausible = rng.random() < PLAUSIBLE_SHARE
    if channel == "messenger":
        psid, mid = "84" + sender[-14:], f"m_random_{index}"
        if plausible:
            raw = page_event(psid, mid, {"text": random_text(rng)})
            return channel, raw, signed(raw), psid
        raw, headers = broken_page_event(rng, psid, mid)
        return channel, raw, headers, psid
    if plausible:
        raw = json.dumps({"sender": sender, "message": random_text(rng)}).encode()
        return channel, raw, {"Content-Type": JSON}, rest(sender)
    raw, content_type = broken_body(rng, sender)
    return channel, raw, {"Content-Type": content_type} if content_type else {}, rest(sender)


async def test_ten_thousand_random_messages_never_give_a_500_and_every_accepted_one_is_archived(assistant, graph):
    rng = random.Random(20261121)
    senders = [f"random-{n:014d}" for n in range(200)]
    widgets = []
    for _ in range(100):  # widget conversations are issued by the server, with their secret
        opened = post(assistant, "widget", json.dumps({"message": "hei"}).encode())
        widgets.append((opened.headers["X-Conversation-Id"], opened.headers["X-Conversation-Secret"]))
        accepted("widget:" + opened.headers["X-Conversation-Id"])
    statuses: Dict[Tuple[str, int], int] = {}
    unanswered: List[str] = []
    messenger_accepted: Dict[str, int] = {}
    queue: asyncio.Queue = asyncio.Queue()
    for index in range(RANDOM_MESSAGES):
        queue.put_nowait((index, *random_request(rng, index, senders, widgets)))
    started = time.monotonic()

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            index, channel, body, headers, sender = queue.get_nowait()
            async with session.post(f"{assistant.url}/webhooks/{channel}/webhook", data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=120)) as answer:
                reply = await answer.read()
            statuses[(channel, answer.status)] = statuses.get((channel, answer.status), 0) + 1
            if answer.status != 200:
                continue
            if channel == "messenger":
                for event in json.loads(body)["entry"][0]["messaging"]:
                    message = event["message"].get("text")
                    if isinstance(message, str) and message.strip():  # others are skipped, as documented
                        messenger_accepted[sender] = messenger_accepted.get(sender, 0) + 1
                continue
            if answer.headers.get("X-Conversation-Id"):  # a widget body without a sender opened one
                sender = "widget:" + answer.headers["X-Conversation-Id"]
            accepted(sender)
            if not json.loads(reply):
                unanswered.append(json.loads(body)["message"][:80])

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    print(f"{RANDOM_MESSAGES} random messages in {time.monotonic() - started:.0f} s: {sorted(statuses.items())}")
    assert {status for _, status in statuses} <= DOCUMENTED, statuses
    assert unanswered == []  # every accepted message got a reply
    assert assistant.process.poll() is None, assistant.log()

    # Messenger's turns run in the background: wait until the archive has them all.
    for psid, count in messenger_accepted.items():
        ACCEPTED[psid] = ACCEPTED.get(psid, 0) + count
    deadline = time.monotonic() + 180
    while True:
        found = archived(assistant)
        counts = {sender: len(found.get(sender, [])) for sender in ACCEPTED}
        if counts == ACCEPTED or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    assert counts == ACCEPTED
    assert set(found) <= set(ACCEPTED)  # nothing refused reached the archive

    # Still up: a normal message through each channel gets a normal answer (the widget's in a
    # conversation it issues).
    for channel, body in (("rest", {"sender": "after-random-1", "message": "hei"}), ("widget", {"message": "hei"})):
        answer = post(assistant, channel, json.dumps(body).encode())
        assert answer.status_code == 200 and "Saltvika" in answer.json()[0]["text"]

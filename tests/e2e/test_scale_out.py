"""Scale-out: two Rasa servers and one action server sharing PostgreSQL and Redis.

One conversation's messages alternate between the two servers (as behind a load balancer without
sticky sessions); the dialogue state (the tracker through Rasa's HTTP API) and the archive must be
exactly those of the same conversation with one server on the default SQLite setup. Then the
faults: a Rasa server killed with ``kill -9`` under load, PostgreSQL restarted mid-conversation,
the action server down, Redis down. The faults change this checkout's PostgreSQL and Redis
(``tests/services.py``), so they need those, not servers given by ``TEST_POSTGRES_URL``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
import redis

from tests import services
from tests.conftest import require_services
from tests.e2e.assistant import RunningAssistant
from tests.e2e.cluster import ScaledAssistant, archive_rows
from tests.e2e.conftest import TUESDAY_MORNING

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: One conversation that uses the actions, slots, a handoff and a language change.
CONVERSATION = [
    "hei",
    "kva er opningstidene dykkar?",
    "kva meiner kommunen om å leggje ned skulen i bygda",
    "kan du skrive bokmål?",
    "hva er telefonnummeret til kommunen",
    "tusen takk",
]
# A conversation stuck behind a lock left by a killed server waits at most this long (Rasa's
# TICKET_LOCK_LIFETIME, 60 s by default): short here so that the fault tests stay bounded.
LOCK_LIFETIME_SECONDS = "15"


@pytest.fixture(scope="module")
def database(postgres_url, tmp_path_factory):
    url = services.create_database("e2e_scale_out", postgres_url)
    yield url
    services.drop_database(url)


@pytest.fixture(scope="module")
def scaled(database, redis_url, tmp_path_factory):
    assistant = ScaledAssistant(
        tmp_path_factory.mktemp("scaled"), database, redis_url, rasa_servers=2,
        MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING, TICKET_LOCK_LIFETIME=LOCK_LIFETIME_SECONDS,
    ).start()
    yield assistant
    assistant.stop()


def texts(messages: List[Dict[str, Any]]) -> str:
    return " ".join(m.get("text", "") for m in messages)


def without_recipient(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{key: value for key, value in m.items() if key != "recipient_id"} for m in messages]


def dialogue_state(tracker: Dict[str, Any]) -> Dict[str, Any]:
    """What the tracker says about the dialogue, without times, ids and model confidences."""
    events = []
    for event in tracker["events"]:
        kind = event["event"]
        if kind == "user":
            parse = event.get("parse_data") or {}
            entities = sorted((e["entity"], str(e["value"])) for e in parse.get("entities", []))
            events.append((kind, event.get("text"), (parse.get("intent") or {}).get("name"), entities))
        elif kind == "bot":
            events.append((kind, event.get("text"), json.dumps((event.get("data") or {}).get("buttons"))))
        elif kind == "action":
            events.append((kind, event.get("name")))
        elif kind == "slot":
            events.append((kind, event.get("name"), json.dumps(event.get("value"), sort_keys=True)))
        else:
            events.append((kind,))
    return {"events": events, "slots": tracker["slots"], "paused": tracker["paused"],
            "latest_action_name": tracker.get("latest_action_name")}


def comparable(rows: List[Dict[str, Any]], conversation_id: str) -> List[tuple]:
    """Archive rows with the conversation's own id replaced (the two runs use different ids)."""
    result = []
    for row in rows:
        personal = row["personal_data"]
        if isinstance(personal, str):  # SQLite hands JSON back as text, PostgreSQL as a list
            personal = json.loads(personal)
        sender = "<citizen>" if row["sender_id"] == conversation_id else row["sender_id"]
        result.append((row["seq"], row["kind"], sender, row["text"], row["language"], row["intent"],
                       row["channel"], personal))
    return result


def redis_commands(url: str) -> int:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def test_two_servers_keep_one_conversation_exactly_as_one_server(saltvika: RunningAssistant, scaled, redis_url):
    one, alternating = "e2e-scale-one-server", "e2e-scale-alternating"
    commands_before = redis_commands(redis_url)
    for number, message in enumerate(CONVERSATION):
        server = scaled.rasa[number % 2]
        expected = without_recipient(saltvika.say(one, message))
        answered = without_recipient(server.say(alternating, message))
        assert answered == expected, f"message {number + 1} ({message!r}) on {server.url}\n{scaled.logs()}"
    # Both servers see the same state, and it is the one-server state.
    reference = dialogue_state(saltvika.tracker(one))
    for server in scaled.rasa:
        assert dialogue_state(server.tracker(alternating)) == reference
    assert reference["slots"]["language"] == "nb" and reference["slots"]["handoff_reason"] is not None

    archived = comparable(scaled.archive(alternating), alternating)
    expected_archive = comparable(archive_rows(f"sqlite:///{saltvika.data_dir / 'archive.db'}", one), one)
    assert archived == expected_archive
    assert [r[3] for r in archived if r[1] == "citizen_message"] == CONVERSATION
    # The Rasa servers really took their locks in the shared Redis (two commands or more a turn).
    assert redis_commands(redis_url) - commands_before >= 2 * len(CONVERSATION)
    for server in scaled.rasa:
        endpoints = (server.data_dir / "run" / "endpoints.yml").read_text()
        assert "type: redis" in endpoints and "dialect: postgresql" in endpoints

"""Scale-out: two Rasa servers and one action server sharing PostgreSQL and Redis.

One conversation's messages alternate between the two servers (as behind a load balancer without
sticky sessions); the dialogue state (the tracker through Rasa's HTTP API) and the archive must be
exactly those of the same conversation with one server on the default SQLite setup. Then the
faults: a Rasa server killed with ``kill -9`` under load, PostgreSQL restarted mid-conversation,
the action server down, Redis down. The faults change this checkout's PostgreSQL and Redis
(``tools/services.py``), so they need those, not servers given by ``TEST_POSTGRES_URL``.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
import redis
import requests

from tools import services
from tests.conftest import require_services
from tests.e2e.assistant import RunningAssistant, api_headers, rest
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
def own_services(postgres_url, redis_url):
    """The fault tests stop and start the servers, so they must be this checkout's own."""
    if not (services.STATE_FILE.exists() and services.urls().postgres == postgres_url
            and services.urls().redis == redis_url):
        require_services("PostgreSQL and Redis of this checkout (tools/services.py)")


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
        sender = "<citizen>" if row["sender_id"] in (conversation_id, rest(conversation_id)) else row["sender_id"]
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
    expected_archive = comparable(archive_rows(f"sqlite:///{saltvika.data_dir / 'archive.db'}", rest(one)), one)
    assert archived == expected_archive
    assert [r[3] for r in archived if r[1] == "citizen_message"] == CONVERSATION
    # The Rasa servers really took their locks in the shared Redis (two commands or more a turn).
    assert redis_commands(redis_url) - commands_before >= 2 * len(CONVERSATION)
    for server in scaled.rasa:
        endpoints = (server.data_dir / "run" / "endpoints.yml").read_text()
        # The stores read REDIS_URL and DATABASE_URL themselves (bot/rasa_server/lock_store.py, tracker_store.py).
        assert "ProjectLockStore" in endpoints and "ProjectTrackerStore" in endpoints


# ------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------

APOLOGY_START = {"nn": "Orsak, eg har tekniske problem", "nb": "Beklager, jeg har tekniske problemer",
                 "sv": "Förlåt, jag har tekniska problem"}


def post(url: str, sender: str, message: str, timeout: float = 60) -> requests.Response:
    return requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout)


def citizen_texts(rows: List[Dict[str, Any]]) -> List[str]:
    return [r["text"] for r in rows if r["kind"] == "citizen_message"]


def assert_numbered(rows: List[Dict[str, Any]]) -> None:
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))


def test_action_server_down_gets_an_apology_and_service_returns_by_itself(scaled):
    nn, nb = "e2e-scale-actions-down-nn", "e2e-scale-actions-down-nb"
    assert "57 69 40 00" in texts(scaled.rasa[0].say(nn, "kva er telefonnummeret til kommunen"))
    scaled.actions.kill()  # kill -9 of the action server (and the staff app beside it)
    try:
        during = {
            nn: scaled.rasa[1].say(nn, "kva er opningstidene dykkar?"),  # a conversation under way
            nb: scaled.rasa[0].say(nb, "hva er åpningstidene deres?"),  # a new one, in Bokmål
        }
        # What needs no action still works: the contact details come from the profile's slots.
        contact = scaled.rasa[1].say(nb, "hva er telefonnummeret til kommunen")
    finally:
        scaled.actions.start()
    for (sender, answer), language in zip(during.items(), ("nn", "nb")):
        assert [m["text"][:len(APOLOGY_START[language])] for m in answer] == [APOLOGY_START[language]], answer
    assert "57 69 40 00" in texts(contact) and "Nettside" in texts(contact)  # Bokmål, not Nynorsk "Nettstad"
    assert "Action server failed to run action_check_desk" in scaled.rasa[1].log()

    # Back by itself: the same conversations get their answers again, from either server.
    for sender, server in ((nn, scaled.rasa[0]), (nb, scaled.rasa[1])):
        assert "08:00" in texts(server.say(sender, "kva er opningstidene dykkar?"))
    rows = scaled.archive(nn)
    assert_numbered(rows)
    assert citizen_texts(rows) == ["kva er telefonnummeret til kommunen", "kva er opningstidene dykkar?",
                                   "kva er opningstidene dykkar?"]
    bot = [r["text"] for r in rows if r["kind"] == "bot_message"]
    assert sum(text.startswith(APOLOGY_START["nn"]) for text in bot) == 1
    assert texts(during[nn]) in bot
    nb_rows = scaled.archive(nb)
    assert citizen_texts(nb_rows) == ["hva er åpningstidene deres?", "hva er telefonnummeret til kommunen",
                                      "kva er opningstidene dykkar?"]
    assert [r["language"] for r in nb_rows if r["kind"] == "bot_message"][:2] == ["nb", "nb"]


def test_redis_down_is_a_clear_error_and_leaves_the_conversation_whole(scaled, own_services):
    sender = "e2e-scale-redis-down"
    server = scaled.rasa[0]
    greeting = server.say(sender, "hei")
    assert greeting
    state_before, archive_before = dialogue_state(server.tracker(sender)), scaled.archive(sender)
    services.stop_redis()
    try:
        response = post(server.url, sender, "kva er opningstidene dykkar?", timeout=30)
        other = post(scaled.rasa[1].url, sender, "kva er opningstidene dykkar?", timeout=30)
        # Nothing was handled: the conversation is as it was, on both servers and in the archive.
        assert dialogue_state(server.tracker(sender)) == state_before
        assert scaled.archive(sender) == archive_before
    finally:
        services.start_redis()
    # Our REST channel (bot/channels/rest.py) tells the client to try again, never a 500.
    assert (response.status_code, other.status_code) == (503, 503)
    assert "try again" in response.json()["error"]
    redis_port = services.urls().redis.rsplit(":", 1)[1].split("/")[0]
    for log in (server.log_path.read_text(errors="replace"), scaled.rasa[1].log_path.read_text(errors="replace")):
        assert (f"Redis lock store at 127.0.0.1:{redis_port} cannot be reached (Error 111 connecting to "
                f"127.0.0.1:{redis_port}. Connection refused.): the message of conversation {rest(sender)} is not "
                f"handled") in log

    # Redis back: the conversation goes on from where it was, complete and in order.
    assert "08:00" in texts(scaled.rasa[1].say(sender, "kva er opningstidene dykkar?"))
    events = [e for e in dialogue_state(server.tracker(sender))["events"] if e[0] == "user"]
    assert [e[1] for e in events] == ["hei", "kva er opningstidene dykkar?"]
    rows = scaled.archive(sender)
    assert_numbered(rows)
    assert citizen_texts(rows) == ["hei", "kva er opningstidene dykkar?"]


#: What each message of the load tests went through, for the assertion messages.
TIMINGS: List[str] = []


def converse(urls: List[str], sender: str, messages: List[str], results: List[Tuple[str, str, Optional[list]]],
             pause: float = 0.0) -> None:
    """One citizen: messages in turn to the servers; a server that is gone is skipped, like a load balancer would."""
    for number, message in enumerate(messages):
        answer, tried, started = None, [], time.monotonic()
        for attempt in range(len(urls)):
            url = urls[(number + attempt) % len(urls)]
            tried.append(url.rsplit(":", 1)[1])
            try:
                response = post(url, sender, message)
            except requests.ConnectionError:
                continue  # the server is gone: the next one takes the message
            except requests.RequestException as error:
                tried.append(type(error).__name__)
                break
            if response.status_code == 200:
                answer = response.json()
            break
        results.append((sender, message, answer))
        TIMINGS.append(f"{sender} {message!r}: {'answered' if answer else 'NOT answered'} after "
                       f"{time.monotonic() - started:.1f} s by port {'/'.join(tried)}")
        time.sleep(pause)


def archived_turns(scaled: ScaledAssistant, senders: List[str]) -> Dict[str, List[Dict[str, Any]]]:
    return {sender: scaled.archive(sender) for sender in senders}


def test_postgres_restart_mid_conversation_loses_nothing(scaled, own_services):
    sender = "e2e-scale-postgres-restart"
    answers = [scaled.rasa[0].say(sender, "hei"), scaled.rasa[1].say(sender, "kva er opningstidene dykkar?")]
    services.restart_postgres()  # every connection the servers hold is cut
    answers += [scaled.rasa[0].say(sender, "kva er telefonnummeret til kommunen"),
                scaled.rasa[1].say(sender, "tusen takk")]
    assert all(answers), answers
    assert "57 69 40 00" in texts(answers[2])
    rows = scaled.archive(sender)
    assert_numbered(rows)
    assert citizen_texts(rows) == ["hei", "kva er opningstidene dykkar?", "kva er telefonnummeret til kommunen",
                                   "tusen takk"]
    assert [r["text"] for r in rows if r["kind"] == "bot_message"] == [m["text"] for a in answers for m in a]

    # Citizens writing while PostgreSQL is down for a moment: whatever was answered is archived once.
    senders = [f"e2e-scale-postgres-outage-{n}" for n in range(3)]
    results: List[Tuple[str, str, Optional[list]]] = []
    messages = [f"kva er opningstidene dykkar? ({n})" for n in range(6)]
    threads = [threading.Thread(target=converse, args=(scaled.urls, s, messages, results, 0.3)) for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    services.stop_postgres()
    time.sleep(1.5)
    services.start_postgres()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == len(senders) * len(messages)
    deadline = time.monotonic() + 30  # the spool is replayed every 2 s
    while time.monotonic() < deadline and any(list(s.data_dir.glob("spool/spool-*.jsonl")) for s in scaled.rasa):
        time.sleep(1)
    assert not [p for s in scaled.rasa for p in s.data_dir.glob("spool/spool-*.jsonl") if p.stat().st_size]
    archived = archived_turns(scaled, senders)
    answered = [(s, m) for s, m, answer in results if answer]
    for sender_id, message in answered:
        assert citizen_texts(archived[sender_id]).count(message) == 1, (sender_id, message)
    for rows in archived.values():
        assert_numbered(rows)
        assert len(set(citizen_texts(rows))) == len(citizen_texts(rows))  # nothing twice
    spooled = sum(len(p.read_text().splitlines()) for s in scaled.rasa for p in s.data_dir.glob("spool/replayed/*"))
    print(f"PostgreSQL outage: {len(answered)} of {len(results)} messages answered, {spooled} events went "
          f"through the spool")
    assert len(answered) == len(results)  # a short outage only delays the answers (bot/rasa_server/tracker_store.py)


def test_kill_9_of_one_rasa_server_under_load(scaled):
    """Runs last: one Rasa server stays dead."""
    senders = [f"e2e-scale-kill-{n}" for n in range(4)]
    messages = ["hei", "kva er opningstidene dykkar?", "kva er telefonnummeret til kommunen", "tusen takk",
                "kva er opningstidene dykkar på laurdag?", "ha det bra"]
    results: List[Tuple[str, str, Optional[list]]] = []
    threads = [threading.Thread(target=converse, args=(scaled.urls, s, messages, results, 0.2)) for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    scaled.rasa[1].kill()  # kill -9 of the whole process group, mid-load
    killed_after = len(results)
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == len(senders) * len(messages)
    assert all(answer for _, _, answer in results[killed_after + len(senders):]), "\n".join(TIMINGS)
    archived = archived_turns(scaled, senders)
    for sender_id, message, answer in results:
        if not answer:
            continue
        rows = archived[sender_id]
        assert message in citizen_texts(rows), (sender_id, message)
        bot = [r["text"] for r in rows if r["kind"] == "bot_message"]
        assert all(m["text"] in bot for m in answer if m.get("text")), (sender_id, message)
    for rows in archived.values():
        assert_numbered(rows)
    assert requests.get(f"{scaled.rasa[0].url}/status", headers=api_headers(), timeout=10).status_code == 200

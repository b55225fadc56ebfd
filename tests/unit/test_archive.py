"""The archive recorder, the spool and the outage path, on real SQLite and PostgreSQL databases."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot.rasa_server.broker import Archive
from bot.storage.db import session_scope, upgrade
from bot.archive.models import ArchiveRecord
from bot.archive.models import Handoff, HandoffEvent
from bot.rasa_server.recorder import ArchiveRecorder
from bot.archive.spool import Spool

TUESDAY_10 = datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc).timestamp()  # 10:00 in Oslo


def turn(sender: str, text: str, start: float, language: str = "nn", reason: str | None = None, intent: str = "greet"):
    """The events Rasa publishes for one turn, in order."""
    events = [
        {"event": "user", "sender_id": sender, "timestamp": start, "text": text, "input_channel": "rest",
         "message_id": f"m-{start}", "parse_data": {"intent": {"name": intent, "confidence": 0.91},
                                                    "entities": [{"entity": "language", "value": language}]}},
        {"event": "action", "sender_id": sender, "timestamp": start + 0.1, "name": "action_validate_slot_mappings"},
    ]
    if reason:
        events.append({"event": "slot", "sender_id": sender, "timestamp": start + 0.2, "name": "handoff_reason", "value": reason})
    events.append({"event": "bot", "sender_id": sender, "timestamp": start + 0.3, "text": f"svar på {text}",
                   "data": {"buttons": [{"title": "Ja", "payload": "/affirm"}]}, "metadata": {"utter_action": "utter_x"}})
    return events


def session_start(sender: str, start: float, language: str = "nn"):
    return [
        {"event": "session_started", "sender_id": sender, "timestamp": start},
        {"event": "slot", "sender_id": sender, "timestamp": start + 0.01, "name": "language", "value": language},
    ]


def rows(url: str, sender: str):
    with session_scope(url) as session:
        return session.execute(
            select(ArchiveRecord).where(ArchiveRecord.conversation_id == sender).order_by(ArchiveRecord.seq)
        ).scalars().all()


@contextmanager
def database_away(url: str, tmp_path):
    """Makes the database unreachable for a while: an unmounted disk, a server that is gone."""
    if url.startswith("sqlite"):
        folder = tmp_path / "db"
        folder.rename(tmp_path / "db-away")
        try:
            yield
        finally:
            (tmp_path / "db-away").rename(folder)
        return
    # PostgreSQL: the database disappears under its name (its connections are cut), then returns.
    name = make_url(url).database
    admin = create_engine(str(make_url(url).set(database="postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                           {"n": name})
        connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"'))
    try:
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"'))
        admin.dispose()


@pytest.fixture
def url(archive_database_url):
    upgrade(archive_database_url)
    return archive_database_url


def test_a_turn_becomes_records_in_order(url):
    recorder = ArchiveRecorder(url)
    written = recorder.record(session_start("c1", TUESDAY_10) + turn("c1", "hei, eg heiter Kari", TUESDAY_10 + 1))
    records = rows(url, "c1")
    assert written == 3
    assert [(r.seq, r.kind) for r in records] == [(1, "state_change"), (2, "citizen_message"), (3, "bot_message")]
    citizen, bot = records[1], records[2]
    assert citizen.text == "hei, eg heiter Kari"
    assert (citizen.intent, citizen.confidence, citizen.language, citizen.channel) == ("greet", 0.91, "nn", "rest")
    assert citizen.data["message_id"] == f"m-{TUESDAY_10 + 1}"
    assert bot.language == "nn" and bot.channel == "rest" and bot.sender_id == "bot"
    assert bot.data["buttons"] == [{"title": "Ja", "payload": "/affirm"}]
    assert citizen.occurred_at.replace(tzinfo=timezone.utc).timestamp() == pytest.approx(TUESDAY_10 + 1)


def test_the_same_events_are_never_archived_twice(url):
    events = session_start("c2", TUESDAY_10) + turn("c2", "hei", TUESDAY_10 + 1)
    recorder = ArchiveRecorder(url)
    assert recorder.record(events) == 3
    assert ArchiveRecorder(url).record(events) == 0  # e.g. a replay after a crash
    assert len(rows(url, "c2")) == 3


def test_personal_data_is_flagged_and_kept_complete(url):
    text = "ring meg på 91234567 eller skriv til kari@example.no"
    ArchiveRecorder(url).record(turn("c3", text, TUESDAY_10, intent="request_human"))
    citizen = rows(url, "c3")[0]
    assert citizen.text == text
    assert citizen.personal_data == ["email", "phone"]


def test_handoff_reason_opens_one_handoff_with_due_time(url):
    recorder = ArchiveRecorder(url)
    recorder.record(session_start("c4", TUESDAY_10, "sv") + turn("c4", "jag vill prata med någon", TUESDAY_10 + 1, "sv", "human_requested"))
    recorder.record(turn("c4", "hallå?", TUESDAY_10 + 60, "sv", "human_requested"))
    with session_scope(url) as session:
        [handoff] = session.execute(select(Handoff).where(Handoff.conversation_id == "c4")).scalars().all()
        events = session.execute(select(HandoffEvent.status).where(HandoffEvent.handoff_id == handoff.id)).scalars().all()
        assert (handoff.reason, handoff.language, handoff.channel) == ("human_requested", "sv", "rest")
        # Saltvika: 24 working hours after the handoff_reason event (Tuesday 10:00:01.2 in Oslo)
        assert handoff.due_at.replace(tzinfo=timezone.utc) == datetime(2026, 11, 18, 9, 0, 1, 200000, tzinfo=timezone.utc)
        assert events == ["open"]
    kinds = [(r.kind, r.text) for r in rows(url, "c4") if r.kind == "handoff_event"]
    assert kinds == [("handoff_event", "open"), ("handoff_event", "reason_added")]


def test_unreachable_database_spools_and_replays_in_order(tmp_path, url):
    spool = Spool(tmp_path / "spool")
    archive = Archive(url, spool=spool, retry_seconds=3600)  # replayed by hand below
    archive.record(session_start("c5", TUESDAY_10) + turn("c5", "fyrste", TUESDAY_10 + 1))

    with database_away(url, tmp_path):
        archive.record(turn("c5", "andre", TUESDAY_10 + 2))
        assert spool.pending()
        assert archive.replay() == 0  # still unreachable: nothing lost, nothing written

    # While the spool holds events, new ones queue behind them to keep the order.
    archive.record(turn("c5", "tredje", TUESDAY_10 + 3))
    assert archive.replay() == 4
    assert not spool.pending()
    texts = [(r.seq, r.kind, r.text) for r in rows(url, "c5") if r.kind == "citizen_message"]
    assert texts == [(2, "citizen_message", "fyrste"), (4, "citizen_message", "andre"), (6, "citizen_message", "tredje")]
    assert len(rows(url, "c5")) == 7
    assert list((tmp_path / "spool" / "replayed").glob("*.jsonl"))  # kept, not deleted


def test_replaying_twice_writes_nothing_twice(tmp_path, url):
    spool = Spool(tmp_path / "spool")
    events = session_start("c6", TUESDAY_10) + turn("c6", "hei", TUESDAY_10 + 1)
    spool.append(events)
    spool.append(events)  # e.g. a crash after writing the archive but before retiring the file
    assert spool.replay(ArchiveRecorder(url).record) == 2 * len(events)
    assert len(rows(url, "c6")) == 3


def test_spool_survives_a_cut_off_line(tmp_path, url):
    spool = Spool(tmp_path / "spool")
    spool.append(turn("c7", "heil linje", TUESDAY_10))
    with spool.path.open("a", encoding="utf-8") as handle:
        handle.write('{"event": "user", "sender_id": "c7", "text": "avkort')
    assert spool.replay(ArchiveRecorder(url).record) == 3
    assert [r.text for r in rows(url, "c7") if r.kind == "citizen_message"] == ["heil linje"]


def test_two_servers_taking_turns_keep_the_conversation_language(url):
    """Two Rasa servers (two recorders) alternate; a language change one of them saw holds on the other."""
    first, second = ArchiveRecorder(url), ArchiveRecorder(url)
    first.record(session_start("c9", TUESDAY_10, "nn") + turn("c9", "hei", TUESDAY_10 + 1, language="nn"))
    switch = turn("c9", "kan du skrive bokmål?", TUESDAY_10 + 2, language="nb")
    switch.insert(2, {"event": "slot", "sender_id": "c9", "timestamp": TUESDAY_10 + 2.15, "name": "language",
                      "value": "nb"})
    second.record(switch)
    # A short message that looks Nynorsk does not switch back: the answer stays in Bokmål.
    first.record(turn("c9", "takk", TUESDAY_10 + 3, language="nn"))
    records = rows(url, "c9")
    assert [r.language for r in records if r.kind == "bot_message"] == ["nn", "nb", "nb"]
    assert [r.language for r in records if r.kind == "citizen_message"] == ["nn", "nb", "nn"]

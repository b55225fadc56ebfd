"""The statistics page: every figure against an archive filled with known records, and the page itself."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import pytest

from bot.storage.db import session_scope
from bot.archive.models import Kind
from bot.archive.models import HandoffEvent
from bot.archive.records import append_record
from bot.core.config import get_settings
from bot.handoff import queue
from bot.municipality import load_municipality
from bot.staff import charts, statistics
from tests.staff.conftest import PASSWORD, Client, StaffServer

OSLO = ZoneInfo("Europe/Oslo")
# Friday 20 November 2026, 12:00 in Saltvika (11:00 UTC); the 7-day period is 14–20 November.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=OSLO)
NATIONAL_ID = "15038512363"
HOSTILE = "<script>alert(1)</script>"


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=OSLO)


def citizen(session, conversation: str, at: datetime, intent: Optional[str], text: str = "Hei"):
    return append_record(session, conversation, Kind.CITIZEN_MESSAGE, at, channel="rest", sender_id=conversation,
                         text=text, language="nb", intent=intent, confidence=0.9)


def answer(session, conversation: str, at: datetime, title: Optional[str] = "Barnehage",
           page: str = "https://www.saltvika.kommune.no/barnehage"):
    if title is None:
        return append_record(session, conversation, Kind.BOT_MESSAGE, at, channel="rest", sender_id="bot",
                             text="Det finner jeg dessverre ikke noe sikkert svar på.", language="nb",
                             data={"response": statistics.NO_ANSWER_RESPONSE})
    return append_record(session, conversation, Kind.BOT_MESSAGE, at, channel="rest", sender_id="bot",
                         text=f"Søk om plass innen 1. mars.\n\nKilde: {title} – {page}\n\nHjalp svaret?",
                         language="nb", data={"response": statistics.ANSWER_RESPONSE})


def verdict(session, conversation: str, at: datetime, helpful: bool, answer_id: Optional[int]):
    append_record(session, conversation, Kind.FEEDBACK, at, channel="rest", sender_id=conversation,
                  text="helpful" if helpful else "not helpful", language="nb",
                  data={"helpful": helpful, "answer_record_id": answer_id, "answer_text": "…"})


def handoff(session, conversation: str, created: datetime, reason: str = "human_requested",
            replied: Optional[datetime] = None, closed: Optional[datetime] = None) -> int:
    created = created.astimezone(timezone.utc)
    opened = queue.open_handoff(
        session, conversation_id=conversation, reason=reason, language="nb", channel="rest",
        created_at=created, record_id=None, municipality=load_municipality(),
        due_hours=24,
    )
    # SQLite keeps the wall-clock fields only, so every time goes in as UTC (as the queue writes them).
    replied = replied.astimezone(timezone.utc) if replied is not None else None
    closed = closed.astimezone(timezone.utc) if closed is not None else None
    if replied is not None:
        session.add(HandoffEvent(handoff_id=opened.id, status="claimed", actor="kari", at=created))
        session.add(HandoffEvent(handoff_id=opened.id, status="answered", actor="kari", at=replied))
        # A second reply must not change the response time.
        session.add(HandoffEvent(handoff_id=opened.id, status="answered", actor="kari", at=replied + timedelta(hours=5)))
    if closed is not None:
        session.add(HandoffEvent(handoff_id=opened.id, status="closed", actor="kari", at=closed))
    session.flush()
    return opened.id


def fill(url: str) -> None:
    """Three conversations on two days (one message outside hours), two website answers from one page
    and one refusal, thumbs up and down, and four handoffs: answered after 2 h and after 30 h, one
    closed without a reply, one still waiting. Plus records outside the 7-day period."""
    with session_scope(url) as session:
        # Tuesday 17 November: c1 in opening hours, c2 in the evening.
        citizen(session, "c1", local(17, 10), "ask_kindergarten", text=f"Fødselsnummer {NATIONAL_ID}")
        first = answer(session, "c1", local(17, 10, 0))
        citizen(session, "c1", local(17, 10, 1), "feedback_helpful")
        verdict(session, "c1", local(17, 10, 1), True, first.id)
        citizen(session, "c2", local(17, 20), "ask_fees", text=HOSTILE)
        answer(session, "c2", local(17, 20), title=None)
        handoff(session, "c2", local(17, 20), reason="unanswered", replied=local(17, 20) + timedelta(hours=30))
        # Wednesday 18 November, 00:30 local (still 17 November in UTC): counts on the 18th, outside hours.
        citizen(session, "c3", local(18, 0, 30), "ask_kindergarten")
        second = answer(session, "c3", local(18, 0, 30))
        citizen(session, "c3", local(18, 9, 1), "feedback_not_helpful")
        verdict(session, "c3", local(18, 9, 1), False, second.id)
        handoff(session, "c3", local(18, 9), replied=local(18, 11))
        # Handoffs without a reply: one closed by staff, one 1 hour old.
        handoff(session, "c4", local(19, 9), reason="political", closed=local(19, 10))
        handoff(session, "c5", local(20, 11))
        # Before the 7-day period (13 November, 23:59 local) and in October: only the 30/90-day views.
        citizen(session, "c0", local(13, 23, 59), "ask_fees")
        citizen(session, "c0", local(10, 9, month=10), "ask_fees")


@pytest.fixture
def filled(db_url) -> str:
    fill(db_url)
    return db_url


@pytest.fixture
def week(filled) -> statistics.Statistics:
    return statistics.compute(load_municipality(), NOW, 7, url=filled)


# ---- the period -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, days", [
    (None, 30), ("", 30), ("7", 7), ("30", 30), ("90", 90), (" 90 ", 90),
    ("8", None), ("0", None), ("-7", None), ("abc", None), ("7.0", None), ("9" * 40, None),
])
def test_period_days_accepts_only_the_offered_periods(raw, days):
    assert statistics.period_days(raw) == days


def test_period_is_whole_local_days_ending_today():
    period = statistics.period_of(load_municipality(), NOW, 7)
    assert (period.first, period.last) == (date(2026, 11, 14), date(2026, 11, 20))
    assert period.start == datetime(2026, 11, 13, 23, 0, tzinfo=timezone.utc)  # midnight in Oslo (UTC+1)
    assert len(period.days) == 7


def test_compute_refuses_a_period_not_offered(db_url):
    with pytest.raises(ValueError):
        statistics.compute(load_municipality(), NOW, 8, url=db_url)


# ---- the figures ------------------------------------------------------------------------------

def test_conversations_and_messages_per_local_day(week):
    by_day = {d.day: (d.conversations, d.messages, d.outside_hours) for d in week.traffic.per_day}
    assert by_day[date(2026, 11, 17)] == (2, 3, 1)  # c1 twice in hours, c2 at 20:00
    assert by_day[date(2026, 11, 18)] == (1, 2, 1)  # c3 at 00:30 (outside) and 09:01
    assert by_day[date(2026, 11, 14)] == (0, 0, 0)
    assert sum(d.messages for d in week.traffic.per_day) == week.traffic.messages == 5
    assert week.traffic.conversations == 3
    assert (week.traffic.outside_hours, week.traffic.outside_share) == (2, pytest.approx(2 / 5))


@pytest.mark.parametrize("days, conversations, messages", [(7, 3, 5), (30, 4, 6), (90, 4, 7)])
def test_longer_periods_include_older_records(filled, days, conversations, messages):
    figures = statistics.compute(load_municipality(), NOW, days, url=filled)
    assert len(figures.traffic.per_day) == days
    assert (figures.traffic.conversations, figures.traffic.messages) == (conversations, messages)


def test_top_intents_most_frequent_first_ties_by_name(week):
    assert [(i.name, i.count) for i in week.intents] == [
        ("ask_kindergarten", 2), ("ask_fees", 1), ("feedback_helpful", 1), ("feedback_not_helpful", 1)]


def test_top_intents_are_cut_at_the_limit(db_url):
    with session_scope(db_url) as session:
        for n in range(12):
            for _ in range(n + 1):
                citizen(session, f"c{n}", local(19, 10), f"intent_{n:02d}")
    figures = statistics.compute(load_municipality(), NOW, 7, url=db_url)
    assert [i.name for i in figures.intents] == [f"intent_{n:02d}" for n in range(11, 1, -1)]


def test_website_answers_refusals_and_topics_with_thumbs(week):
    assert (week.website.answered, week.website.not_answered, week.website.questions) == (2, 1, 3)
    assert week.website.unanswered_share == pytest.approx(1 / 3)
    assert week.website.topics == [
        statistics.Topic("Barnehage", "https://www.saltvika.kommune.no/barnehage", 2, 1, 1)]


@pytest.mark.parametrize("text, source", [
    ("Svar.\n\nKjelde: Opningstider – https://x.no/a\n\nHjelpte svaret?", ("Opningstider", "https://x.no/a")),
    ("Svar.\n\nKilde: Gebyr: byggesak – https://x.no/b\n\nHjalp svaret?", ("Gebyr: byggesak", "https://x.no/b")),
    ("Svar.\n\nKälla: Förskola – https://x.se/c\n\nHjälpte svaret dig?", ("Förskola", "https://x.se/c")),
    ("Svar uten kildelinje.", ("", "")),
    (None, ("", "")),
])
def test_source_of_a_website_answer(text, source):
    assert statistics.source_of(text) == source


def test_source_line_matches_every_variation_of_the_website_answer_in_domain_yml():
    import yaml

    from tests.conftest import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    variations = domain["responses"][statistics.ANSWER_RESPONSE]
    assert len(variations) >= 3
    for variation in variations:
        text = variation["text"].format(answer_snippet="Tekst: med kolon – og strek.", answer_title="Barnehage: opptak",
                                        answer_url="https://www.saltvika.kommune.no/barnehage")
        assert statistics.source_of(text) == ("Barnehage: opptak", "https://www.saltvika.kommune.no/barnehage")


def test_feedback_counts_thumbs(week):
    assert (week.feedback.helpful, week.feedback.not_helpful, week.feedback.total) == (1, 1, 2)
    assert week.feedback.helpful_share == pytest.approx(0.5)


def test_handoff_response_times(week):
    h = week.handoffs
    assert (h.created, h.answered, h.closed_without_reply, h.waiting) == (4, 2, 1, 1)
    assert h.median_hours == pytest.approx(16.0)  # median of 2 h and 30 h
    # The 1-hour-old handoff is not decided yet; the closed one has no response time.
    assert (h.within_24h, h.decided_24h) == (1, 2)
    assert (h.within_due, h.decided_due) == (1, 2)
    assert (h.unanswered_reason, h.unanswered_reason_share) == (1, pytest.approx(0.25))


@pytest.mark.parametrize("created, replied, within_24h, within_due", [
    (local(18, 9), local(18, 11), True, True),  # 2 hours on a Wednesday
    (local(17, 20), local(19, 2), False, False),  # 30 hours, past the working-day due time
    (local(13, 14), local(16, 10), False, True),  # Friday 14:00 to Monday 10:00: 68 h, due Monday 14:00
])
def test_wall_clock_hours_and_working_day_due_time_can_differ(db_url, created, replied, within_24h, within_due):
    with session_scope(db_url) as session:
        handoff(session, "c", created, replied=replied)
    h = statistics.compute(load_municipality(), NOW, 30, url=db_url).handoffs
    assert h.median_hours == pytest.approx((replied - created).total_seconds() / 3600)
    assert (h.within_24h, h.decided_24h) == (int(within_24h), 1)
    assert (h.within_due, h.decided_due) == (int(within_due), 1)


def test_a_waiting_handoff_counts_once_its_time_is_up(db_url):
    with session_scope(db_url) as session:
        handoff(session, "late", local(18, 9))  # 51 hours ago, due Thursday 09:00: missed both
        handoff(session, "fresh", local(20, 9))  # 3 hours ago: not decided
    h = statistics.compute(load_municipality(), NOW, 7, url=db_url).handoffs
    assert (h.within_24h, h.decided_24h, h.within_due, h.decided_due, h.waiting) == (0, 1, 0, 1, 2)
    assert h.within_24h_share == 0 and h.median_hours is None


@pytest.mark.parametrize("municipality_id", ["saltvika", "storlia", "bjorkvalla"])
@pytest.mark.parametrize("start", [
    datetime(2026, 3, 27, tzinfo=timezone.utc),  # spring DST change
    datetime(2026, 4, 1, tzinfo=timezone.utc),  # Easter holidays
    datetime(2026, 10, 22, tzinfo=timezone.utc),  # autumn DST change
    datetime(2026, 12, 21, tzinfo=timezone.utc),  # Christmas
])
def test_open_hours_agree_with_the_municipality_profile(municipality_id, start):
    municipality = load_municipality(municipality_id)
    is_open = statistics.OpenHours(municipality)
    moments = [start + timedelta(minutes=13 * n) for n in range(10 * 24 * 60 // 13)]
    answers = [is_open(m) for m in moments]
    assert answers == [municipality.is_open(m) for m in moments]
    assert True in answers and False in answers


@pytest.mark.parametrize("days", statistics.PERIODS)
def test_empty_archive_gives_no_shares_and_no_division_by_zero(db_url, days):
    figures = statistics.compute(load_municipality(), NOW, days, url=db_url)
    assert figures.empty
    assert len(figures.traffic.per_day) == days and all(d.conversations == 0 for d in figures.traffic.per_day)
    assert figures.intents == [] and figures.website.topics == []
    for value in (figures.traffic.outside_share, figures.website.unanswered_share, figures.feedback.helpful_share,
                  figures.handoffs.median_hours, figures.handoffs.within_24h_share,
                  figures.handoffs.within_due_share, figures.handoffs.unanswered_reason_share):
        assert value is None
    assert statistics.percent(None) == statistics.decimal(None) == "–"


@pytest.mark.parametrize("value, text", [(None, "–"), (0.0, "0 %"), (1 / 3, "33 %"), (2 / 3, "67 %"), (1.0, "100 %")])
def test_percent(value, text):
    assert statistics.percent(value) == text


def test_decimal_uses_a_decimal_comma():
    assert statistics.decimal(16.0) == "16,0" and statistics.decimal(2.25, comma=False) == "2.2"


# ---- chart geometry ---------------------------------------------------------------------------

@pytest.mark.parametrize("largest, top", [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (99, 100), (501, 1000)])
def test_axis_maximum_is_a_round_number(largest, top):
    assert charts.nice_max(largest) == top


def test_vertical_bars_scale_to_the_largest_value_and_thin_out_labels():
    chart = charts.vertical([f"d{n}" for n in range(30)], [0] * 29 + [10])
    tallest, empty = chart.bars[-1], chart.bars[0]
    assert empty.height == 0 and tallest.y + tallest.height == pytest.approx(chart.origin)
    assert tallest.y == pytest.approx(20)  # the top of the plot: 10 is the axis maximum
    assert [b.label for b in chart.bars if b.show_label] == [f"d{n}" for n in range(0, 30, 3)]
    assert [t.value for t in chart.ticks] == [0, 2, 4, 6, 8, 10]
    assert all(b.x + b.width <= chart.width for b in chart.bars)


def test_horizontal_bars_shorten_long_labels_and_reject_mismatched_input():
    chart = charts.horizontal(["kort", "x" * 60], [3, 6])
    assert chart.bars[0].width == pytest.approx(chart.bars[1].width / 2)
    assert chart.bars[1].label.endswith("…") and len(chart.bars[1].label) == charts.LABEL_CHARS
    with pytest.raises(ValueError):
        charts.horizontal(["a"], [1, 2])


# ---- the page through the running staff app ---------------------------------------------------

@pytest.fixture
def clocked(monkeypatch):
    monkeypatch.setenv("BOT_CLOCK", NOW.isoformat())
    get_settings.cache_clear()


@pytest.fixture
def stats_staff(clocked, filled):
    server = StaffServer(filled).start()
    client = Client(server.base)
    assert client.login("kari", PASSWORD).status_code == 302
    yield client
    server.stop()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_page_needs_a_session(server):
    response = Client(server.base).get("/statistics")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_page_shows_the_figures_of_the_chosen_period(stats_staff):
    page = stats_staff.get("/statistics?days=7")
    assert page.status_code == 200
    html, words = page.text, text_of(page.text)
    assert '<a href="/statistics" aria-current="page">' in html
    assert '<option value="7" selected>' in html
    assert "Fra 14.11.2026 til og med 20.11.2026" in words
    assert "2 av 5 meldinger (40 %)" in words  # outside opening hours
    assert "1 av 3 (33 %)" in words  # website questions without a sure answer
    assert "1 av 4 (25 %)" in words  # handoffs with reason unanswered
    assert "16,0 timer" in words  # median response time
    assert words.count("1 av 2 (50 %)") == 2  # within 24 h and within the due time
    assert "tir. 17.11.2026 2 3 1" in words and "Sum 3 5 2" in words
    assert "ask_kindergarten 2" in words and "Barnehage 2 1 1" in words
    # Every chart is an image with a name, and there is a table with its numbers.
    charts_on_page = re.findall(r'<svg class="chart" role="img" aria-labelledby="([^"]+)"', html)
    assert charts_on_page == ["chart-per-day-title", "chart-intents-title", "chart-topics-title", "chart-feedback-title"]
    for name in charts_on_page:
        assert f'<title id="{name}">' in html
    assert html.count("<table") == 4 and "style=" not in html


@pytest.mark.parametrize("query, selected, conversations", [("", 30, 4), ("?days=30", 30, 4), ("?days=90", 90, 4), ("?days=7", 7, 3)])
def test_period_select_changes_the_figures(stats_staff, query, selected, conversations):
    page = stats_staff.get(f"/statistics{query}")
    assert page.status_code == 200 and f'<option value="{selected}" selected>' in page.text
    assert len(re.findall(r'<tr><th scope="row">(?:man|tir|ons|tor|fre|lør|søn)\. ', page.text)) == selected
    assert f"<dt>Samtaler</dt><dd>{conversations}</dd>" in page.text


@pytest.mark.parametrize("days", ["abc", "8", "<script>", "-1"])
def test_an_unknown_period_gets_a_polite_notice_and_the_default(stats_staff, days):
    page = stats_staff.get("/statistics", params={"days": days})
    assert page.status_code == 200
    assert "Ukjent periode; viser de siste 30 dagene." in page.text and '<option value="30" selected>' in page.text
    assert "<script>" not in page.text


def test_page_shows_no_message_texts_and_escapes_hostile_names(clocked, db_url):
    fill(db_url)
    with session_scope(db_url) as session:
        citizen(session, "evil", local(19, 10), HOSTILE, text=HOSTILE)
        shown = answer(session, "evil", local(19, 10), title=HOSTILE, page="javascript:alert(1)")
        verdict(session, "evil", local(19, 10), True, shown.id)
    server = StaffServer(db_url).start()
    try:
        client = Client(server.base)
        assert client.login("kari", PASSWORD).status_code == 302
        html = client.get("/statistics?days=7").text
    finally:
        server.stop()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert NATIONAL_ID not in html and "Søk om plass" not in html and "Hei" not in text_of(html)


def test_empty_archive_page_says_there_is_no_data(clocked, staff):
    page = staff.get("/statistics")
    assert page.status_code == 200
    assert "Ingen data i perioden" in page.text and "<svg" not in page.text


def test_swedish_statistics_page(clocked, monkeypatch, filled):
    monkeypatch.setenv("MUNICIPALITY", "bjorkvalla")
    get_settings.cache_clear()
    server = StaffServer(filled).start()
    try:
        client = Client(server.base)
        assert client.login("kari", PASSWORD).status_code == 302
        page = client.get("/statistics?days=7")
    finally:
        server.stop()
    assert page.status_code == 200 and '<html lang="sv">' in page.text
    words = text_of(page.text)
    assert "Statistik" in words and "Senaste 7 dagarna" in words and "Från 2026-11-14 till och med 2026-11-20" in words
    assert "tis 2026-11-17" in words

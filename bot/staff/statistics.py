"""Figures for the staff app's statistics page, computed from the archive.

Every function here reads the archive through SQLAlchemy and returns plain data (dataclasses of
numbers and names). No message a citizen wrote is read or returned: citizen messages give only
their time, conversation and NLU intent; the topic of a website answer is the source line of
the bot's own answer (the page's title and address on the municipality's website).

Days are calendar days in the municipality's time zone; a period of N days is today and the
N - 1 days before it.
"""
from __future__ import annotations

import re
import statistics as pystats
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import Handoff, HandoffEvent
from bot.storage.base import utc
from bot.municipality import Municipality

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
TOP = 10
WITHIN = timedelta(hours=24)
ANSWER_RESPONSE = "utter_website_answer"
NO_ANSWER_RESPONSE = "utter_no_website_answer"
UNANSWERED_REASON = "unanswered"
ANSWERED_STATUS = "answered"
CLOSED_STATUS = "closed"
# The source line of utter_website_answer in every language: "Kilde: {title} – {url}".
SOURCE_LINE = re.compile(r"^[^\n:]{1,20}: (?P<title>[^\n]+?) – (?P<url>\S+)[ \t]*$", re.MULTILINE)


def period_days(raw: Optional[str]) -> Optional[int]:
    """Returns the period a ``days`` query value asks for, or None when it is not one of :data:`PERIODS`.

    Args:
        raw: the query value (``"7"``, ``"30"``, ``"90"``), or None/empty for the default.
    """
    if raw is None or raw == "":
        return DEFAULT_DAYS
    return int(raw) if raw.strip().isdigit() and int(raw) in PERIODS else None


def share(part: int, whole: int) -> Optional[float]:
    """Returns ``part / whole``, or None when ``whole`` is 0 (nothing to divide)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Period:
    """The days a statistics page covers."""

    first: date
    last: date
    start: datetime  # UTC, midnight of ``first`` in the municipality's time zone
    end: datetime  # UTC, ``now``

    @property
    def days(self) -> List[date]:
        """Every local date of the period, first to last."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period_of(municipality: Municipality, now: datetime, days: int) -> Period:
    """Returns the period of ``days`` calendar days ending today (in the municipality's time zone)."""
    zone = municipality.zone
    last = now.astimezone(zone).date()
    first = last - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(timezone.utc)
    return Period(first, last, start, now.astimezone(timezone.utc))


@dataclass(frozen=True)
class DayCount:
    """One day's traffic: conversations with a citizen message, citizen messages, and those out of hours."""

    day: date
    conversations: int
    messages: int
    outside_hours: int


@dataclass(frozen=True)
class Traffic:
    """Conversations and citizen messages of a period, per day and in total."""

    per_day: List[DayCount]
    conversations: int
    messages: int
    outside_hours: int

    @property
    def outside_share(self) -> Optional[float]:
        """Citizen messages outside opening hours out of all citizen messages (None without messages)."""
        return share(self.outside_hours, self.messages)


class OpenHours:
    """``Municipality.is_open`` for many moments: each local day's opening periods are worked out once.

    The same rule as :meth:`Municipality.is_open` (open from an opening time up to, not including,
    the closing time; wall-clock times placed in the municipality's time zone), several times
    faster when thousands of messages fall on the same days.
    """

    def __init__(self, municipality: Municipality):
        self.municipality = municipality
        self._days: Dict[date, List[Tuple[datetime, datetime]]] = {}

    def _periods(self, day: date) -> List[Tuple[datetime, datetime]]:
        if day not in self._days:
            zone = self.municipality.zone
            self._days[day] = [
                (datetime.combine(day, opens, tzinfo=zone).astimezone(timezone.utc),
                 datetime.combine(day, closes, tzinfo=zone).astimezone(timezone.utc))
                for opens, closes in self.municipality.periods_on(day)
            ]
        return self._days[day]

    def __call__(self, moment: datetime) -> bool:
        moment = moment.astimezone(timezone.utc)
        day = moment.astimezone(self.municipality.zone).date()
        return any(opens <= moment < closes for opens, closes in self._periods(day))


def traffic(session: Session, municipality: Municipality, period: Period) -> Traffic:
    """Counts conversations and citizen messages per local day, and messages sent while the desk was closed.

    A conversation counts on every day a citizen wrote in it, and once in the period's total.
    "Outside opening hours" follows :meth:`Municipality.is_open` (weekends, holidays, special days, lunch).
    """
    zone = municipality.zone
    conversations: Dict[date, set] = defaultdict(set)
    messages: Counter = Counter()
    outside: Counter = Counter()
    everyone = set()
    rows = session.execute(
        select(ArchiveRecord.conversation_id, ArchiveRecord.occurred_at).where(
            ArchiveRecord.kind == Kind.CITIZEN_MESSAGE,
            ArchiveRecord.occurred_at >= period.start,
            ArchiveRecord.occurred_at <= period.end,
        )
    )
    is_open = OpenHours(municipality)
    for conversation_id, occurred_at in rows:
        moment = utc(occurred_at)
        day = moment.astimezone(zone).date()
        conversations[day].add(conversation_id)
        everyone.add(conversation_id)
        messages[day] += 1
        if not is_open(moment):
            outside[day] += 1
    per_day = [DayCount(d, len(conversations[d]), messages[d], outside[d]) for d in period.days]
    return Traffic(per_day, len(everyone), sum(messages.values()), sum(outside.values()))


@dataclass(frozen=True)
class Ranked:
    """A name and how often it occurred."""

    name: str
    count: int


def top_intents(session: Session, period: Period, limit: int = TOP) -> List[Ranked]:
    """Returns the NLU intents of citizen messages, most frequent first (ties by name)."""
    counts = Counter(
        intent for (intent,) in session.execute(
            select(ArchiveRecord.intent).where(
                ArchiveRecord.kind == Kind.CITIZEN_MESSAGE,
                ArchiveRecord.occurred_at >= period.start,
                ArchiveRecord.occurred_at <= period.end,
                ArchiveRecord.intent.is_not(None),
            )
        )
    )
    return [Ranked(name, count) for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def source_of(answer_text: Optional[str]) -> Tuple[str, str]:
    """Returns ``(title, url)`` of the page a website answer came from (empty strings when not found).

    The answer's last line of the form ``Kilde: {title} – {url}`` is the source (utter_website_answer).
    """
    found = list(SOURCE_LINE.finditer(answer_text or ""))
    if not found:
        return "", ""
    return found[-1].group("title").strip(), found[-1].group("url")


@dataclass(frozen=True)
class Topic:
    """A website page the assistant answered from, with the citizens' verdicts on those answers."""

    title: str
    url: str
    answers: int
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class Website:
    """Service questions the assistant tried to answer from the website, and the pages it used."""

    answered: int  # utter_website_answer
    not_answered: int  # utter_no_website_answer: no sure answer, offered a person instead
    topics: List[Topic]

    @property
    def questions(self) -> int:
        """Every website look-up: answered or not."""
        return self.answered + self.not_answered

    @property
    def unanswered_share(self) -> Optional[float]:
        """Look-ups without a sure answer out of all look-ups (None without look-ups)."""
        return share(self.not_answered, self.questions)


def _bot_response(record_data) -> Optional[str]:
    return (record_data or {}).get("response") if isinstance(record_data, dict) else None


def website(session: Session, period: Period, limit: int = TOP) -> Website:
    """Counts website answers and refusals, and ranks the pages answered from (with thumbs per page)."""
    answered = not_answered = 0
    page_of_answer: Dict[int, Tuple[str, str]] = {}
    rows = session.execute(
        select(ArchiveRecord.id, ArchiveRecord.data, ArchiveRecord.text).where(
            ArchiveRecord.kind == Kind.BOT_MESSAGE,
            ArchiveRecord.occurred_at >= period.start,
            ArchiveRecord.occurred_at <= period.end,
        )
    )
    for record_id, data, text in rows:
        response = _bot_response(data)
        if response == ANSWER_RESPONSE:
            answered += 1
            page_of_answer[record_id] = source_of(text)
        elif response == NO_ANSWER_RESPONSE:
            not_answered += 1
    counts = Counter(page_of_answer.values())
    verdicts: Dict[Tuple[str, str], Counter] = defaultdict(Counter)
    for helpful, answer_id in _feedback_rows(session, period):
        if answer_id in page_of_answer:
            verdicts[page_of_answer[answer_id]][helpful] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    topics = [Topic(title, url, n, verdicts[(title, url)][True], verdicts[(title, url)][False])
              for (title, url), n in ranked]
    return Website(answered, not_answered, topics)


def _feedback_rows(session: Session, period: Period) -> List[Tuple[bool, Optional[int]]]:
    rows = session.execute(
        select(ArchiveRecord.data).where(
            ArchiveRecord.kind == Kind.FEEDBACK,
            ArchiveRecord.occurred_at >= period.start,
            ArchiveRecord.occurred_at <= period.end,
        )
    )
    out = []
    for (data,) in rows:
        data = data if isinstance(data, dict) else {}
        if isinstance(data.get("helpful"), bool):
            out.append((data["helpful"], data.get("answer_record_id")))
    return out


@dataclass(frozen=True)
class Feedback:
    """Citizens' thumbs up and down on the assistant's website answers."""

    helpful: int
    not_helpful: int

    @property
    def total(self) -> int:
        """Thumbs up and down together."""
        return self.helpful + self.not_helpful

    @property
    def helpful_share(self) -> Optional[float]:
        """Thumbs up out of all thumbs (None without feedback)."""
        return share(self.helpful, self.total)


def feedback(session: Session, period: Period) -> Feedback:
    """Counts the feedback records (``helpful`` true or false) of the period."""
    verdicts = Counter(helpful for helpful, _ in _feedback_rows(session, period))
    return Feedback(verdicts[True], verdicts[False])


@dataclass(frozen=True)
class Handoffs:
    """How fast staff answered the handoffs created in the period.

    Attributes:
        created: handoffs created in the period.
        unanswered_reason: of those, handoffs whose reason was ``unanswered`` (the bot had no answer).
        answered: handoffs with a staff reply (their first ``answered`` event).
        closed_without_reply: closed by staff without a reply (counted in no response figure).
        waiting: neither answered nor closed yet.
        median_hours: median wall-clock hours from creation to the first staff reply (None without replies).
        within_24h / decided_24h: answered within 24 wall-clock hours, out of those answered or older than 24 h.
        within_due / decided_due: answered by the due time (24 hours on working days, bot/handoff/due.py),
            out of those answered or past their due time.
    """

    created: int
    unanswered_reason: int
    answered: int
    closed_without_reply: int
    waiting: int
    median_hours: Optional[float]
    within_24h: int
    decided_24h: int
    within_due: int
    decided_due: int

    @property
    def within_24h_share(self) -> Optional[float]:
        """Answered within 24 wall-clock hours out of the decided ones (None when none is decided)."""
        return share(self.within_24h, self.decided_24h)

    @property
    def within_due_share(self) -> Optional[float]:
        """Answered by the working-day due time out of the decided ones (None when none is decided)."""
        return share(self.within_due, self.decided_due)

    @property
    def unanswered_reason_share(self) -> Optional[float]:
        """Handoffs with reason ``unanswered`` out of all handoffs created (None without handoffs)."""
        return share(self.unanswered_reason, self.created)


def handoffs(session: Session, period: Period) -> Handoffs:
    """Response times of the handoffs created in the period (see :class:`Handoffs`)."""
    rows = session.execute(
        select(Handoff.id, Handoff.reason, Handoff.created_at, Handoff.due_at).where(
            Handoff.created_at >= period.start, Handoff.created_at <= period.end
        )
    ).all()
    ids = [row.id for row in rows]
    first_reply: Dict[int, datetime] = {}
    closed = set()
    if ids:
        for handoff_id, status, at in session.execute(
            select(HandoffEvent.handoff_id, HandoffEvent.status, HandoffEvent.at)
            .where(HandoffEvent.handoff_id.in_(ids), HandoffEvent.status.in_((ANSWERED_STATUS, CLOSED_STATUS)))
            .order_by(HandoffEvent.id)
        ):
            if status == ANSWERED_STATUS:
                first_reply.setdefault(handoff_id, utc(at))
            else:
                closed.add(handoff_id)
    now = period.end
    waits: List[float] = []
    within_24h = decided_24h = within_due = decided_due = 0
    closed_without_reply = waiting = 0
    for row in rows:
        created, due = utc(row.created_at), utc(row.due_at)
        replied = first_reply.get(row.id)
        if replied is not None:
            waits.append((replied - created).total_seconds() / 3600)
            decided_24h += 1
            decided_due += 1
            within_24h += replied - created <= WITHIN
            within_due += replied <= due
            continue
        if row.id in closed:
            closed_without_reply += 1
            continue
        waiting += 1
        decided_24h += now - created > WITHIN
        decided_due += now > due
    return Handoffs(
        created=len(rows),
        unanswered_reason=sum(row.reason == UNANSWERED_REASON for row in rows),
        answered=len(waits),
        closed_without_reply=closed_without_reply,
        waiting=waiting,
        median_hours=pystats.median(waits) if waits else None,
        within_24h=within_24h, decided_24h=decided_24h, within_due=within_due, decided_due=decided_due,
    )


@dataclass(frozen=True)
class Statistics:
    """Everything the statistics page shows."""

    days: int
    period: Period
    traffic: Traffic
    intents: List[Ranked]
    website: Website
    feedback: Feedback
    handoffs: Handoffs

    @property
    def empty(self) -> bool:
        """True when the period has no citizen message, bot answer, feedback or handoff at all."""
        return not (self.traffic.messages or self.website.questions or self.feedback.total or self.handoffs.created)


def compute(municipality: Municipality, now: datetime, days: int = DEFAULT_DAYS, url: Optional[str] = None) -> Statistics:
    """Computes every figure of the statistics page for the ``days`` days ending at ``now``.

    Args:
        municipality: the profile (time zone, opening hours).
        now: a timezone-aware moment (``bot.core.clock.now()`` in the app).
        days: one of :data:`PERIODS`.
        url: the archive database (default: the configured one).

    Raises:
        ValueError: ``days`` is not one of :data:`PERIODS`.
    """
    if days not in PERIODS:
        raise ValueError(f"days must be one of {PERIODS}, not {days!r}")
    ensure_schema(url)
    period = period_of(municipality, now, days)
    with session_scope(url) as session:
        return Statistics(
            days=days,
            period=period,
            traffic=traffic(session, municipality, period),
            intents=top_intents(session, period),
            website=website(session, period),
            feedback=feedback(session, period),
            handoffs=handoffs(session, period),
        )


def percent(value: Optional[float]) -> str:
    """Formats a share as a whole percentage (``"33 %"``), or ``"–"`` when there is nothing to divide."""
    return "–" if value is None else f"{round(value * 100)} %"


def decimal(value: Optional[float], comma: bool = True) -> str:
    """Formats a number with one decimal, with a decimal comma as in Norwegian and Swedish (``"2,5"``).

    Returns ``"–"`` for None (nothing to measure).
    """
    if value is None:
        return "–"
    text = f"{value:.1f}"
    return text.replace(".", ",") if comma else text

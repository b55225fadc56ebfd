"""The operational or crisis message (driftsmelding) that the bot gives first in every greeting.

Staff publish a text per offered language with an end time. The table is append-only: a new
message, and ending one early, are new rows; the newest row decides what is active, so the
history of what citizens were told stays in the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, Optional

from sqlalchemy import JSON, Column, DateTime, String, select

from bot.storage.base import Base, Id, utc

MAX_TEXT_LENGTH = 600
MAX_DURATION = timedelta(days=31)


class CrisisMessage(Base):
    """One published (or ended) crisis message; rows are never changed."""

    __tablename__ = "crisis_messages"

    id = Column(Id, primary_key=True, autoincrement=True)
    municipality = Column(String(64), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    created_by = Column(String(255), nullable=False)
    ends_at = Column(DateTime(timezone=True), nullable=False)
    texts = Column(JSON, nullable=False)
    # "published" or "ended" (an early end: a copy of the message whose end time is the moment it ended)
    action = Column(String(16), nullable=False)


class CrisisError(ValueError):
    """A crisis message that cannot be published; ``problems`` names each field."""

    def __init__(self, problems: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Crisis:
    """A crisis message as staff and the bot see it."""

    id: int
    created_at: datetime
    created_by: str
    ends_at: datetime
    texts: Dict[str, str]
    action: str

    def active(self, now: datetime) -> bool:
        """Whether the bot gives this message at ``now``."""
        return self.action == "published" and utc(now) < self.ends_at

    def text_in(self, language: str, default_language: str) -> str:
        """The text in ``language``, else in the municipality's default language."""
        return self.texts.get(language) or self.texts.get(default_language) or next(iter(self.texts.values()), "")


def _crisis(row: CrisisMessage) -> Crisis:
    return Crisis(id=row.id, created_at=utc(row.created_at), created_by=row.created_by, ends_at=utc(row.ends_at),
                  texts=dict(row.texts or {}), action=row.action)


def _clean(text: object) -> str:
    # Control characters other than line breaks would reach Messenger and the archive as they are.
    cleaned = "".join(ch for ch in str(text or "") if ch in "\n\t" or ch.isprintable())
    return "\n".join(line.strip() for line in cleaned.strip().splitlines())


def validate(texts: Mapping[str, object], ends_at: Optional[datetime], languages: List[str],
             now: datetime) -> Dict[str, str]:
    """Checks a message before publishing.

    Args:
        texts: text per language as staff typed it.
        ends_at: the end time (timezone-aware), or None when missing or unreadable.
        languages: the municipality's offered languages; each needs a text.
        now: the current time.

    Returns:
        The cleaned text per offered language.

    Raises:
        CrisisError: naming every field that is missing or wrong (keys: the language codes, ``ends_at``).
    """
    problems: Dict[str, str] = {}
    cleaned = {lang: _clean(texts.get(lang)) for lang in languages}
    for lang, text in cleaned.items():
        if not text:
            problems[lang] = "missing"
        elif len(text) > MAX_TEXT_LENGTH:
            problems[lang] = "too_long"
    if ends_at is None:
        problems["ends_at"] = "missing"
    elif ends_at <= now:
        problems["ends_at"] = "past"
    elif ends_at - now > MAX_DURATION:
        problems["ends_at"] = "too_far"
    if problems:
        raise CrisisError(problems)
    return cleaned


def publish(session, municipality: str, texts: Mapping[str, object], ends_at: Optional[datetime],
            languages: List[str], by: str, now: datetime) -> Crisis:
    """Publishes a crisis message (replacing any active one).

    Args:
        session: an open SQLAlchemy session (the caller commits).
        municipality: the municipality's id.
        texts: text per language; every offered language is required.
        ends_at: when the bot stops giving it.
        languages: the offered languages.
        by: the staff member's user name.
        now: the current time.

    Raises:
        CrisisError: when a text or the end time is missing or wrong.
    """
    cleaned = validate(texts, ends_at, languages, now)
    row = CrisisMessage(municipality=municipality, created_at=now, created_by=by, ends_at=ends_at,
                        texts=cleaned, action="published")
    session.add(row)
    session.flush()
    return _crisis(row)


def latest(session, municipality: str) -> Optional[Crisis]:
    """The newest row for the municipality (published or ended), or None."""
    row = session.execute(
        select(CrisisMessage).where(CrisisMessage.municipality == municipality)
        .order_by(CrisisMessage.id.desc()).limit(1)
    ).scalar_one_or_none()
    return _crisis(row) if row is not None else None


def active(session, municipality: str, now: datetime) -> Optional[Crisis]:
    """The crisis message the bot gives at ``now``, or None."""
    found = latest(session, municipality)
    return found if found is not None and found.active(now) else None


def end_now(session, municipality: str, by: str, now: datetime) -> Optional[Crisis]:
    """Ends the active message early by appending an "ended" row; None when nothing was active."""
    current = active(session, municipality, now)
    if current is None:
        return None
    row = CrisisMessage(municipality=municipality, created_at=now, created_by=by, ends_at=now,
                        texts=current.texts, action="ended")
    session.add(row)
    session.flush()
    return _crisis(row)


def history(session, municipality: str, limit: int = 20) -> List[Crisis]:
    """The newest rows first."""
    rows = session.execute(
        select(CrisisMessage).where(CrisisMessage.municipality == municipality)
        .order_by(CrisisMessage.id.desc()).limit(limit)
    ).scalars()
    return [_crisis(r) for r in rows]


def greeting_notice(profile, language: str, now: datetime, url: Optional[str] = None) -> Optional[Dict[str, str]]:
    """The values for ``utter_crisis`` while a message is active, else None.

    Args:
        profile: the municipality (its id, default language and time zone).
        language: the conversation's language.
        now: the current time.
        url: the archive database (default: the configured one).

    Returns:
        ``crisis_text`` in the conversation's language and ``crisis_until`` written out in it.
    """
    from bot.storage.db import session_scope
    from bot.municipality import format_moment

    with session_scope(url) as session:
        found = active(session, profile.id, now)
    if found is None:
        return None
    ends = found.ends_at.astimezone(profile.zone)
    return {"crisis_text": found.text_in(language, profile.default_language),
            "crisis_until": format_moment(language, ends, now)}

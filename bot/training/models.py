"""Tables of the trainer studio: inbox decisions and the change log of every edit.

The decisions point at the harvested citizen message by its archive record id, without a
foreign key: the retention purge deletes archive records, while a decided training example (its
text masked as harvest masks it) stays training data.
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String, Text

from bot.storage.base import Base, Id


class Decision:
    """What a trainer decided about a harvested message."""

    EXAMPLE = "example"
    HELD_OUT = "held_out"
    NOT_USEFUL = "not_useful"
    ALL = ("example", "held_out", "not_useful")


class InboxDecision(Base):
    """A trainer's decision about one harvested message (one row per message; a new decision
    replaces the old one, and ``version`` counts the replacements)."""

    __tablename__ = "training_decisions"

    id = Column(Id, primary_key=True, autoincrement=True)
    record_id = Column(Id, nullable=False, unique=True)
    decision = Column(String(16), nullable=False)
    intent = Column(String(64), nullable=True)
    language = Column(String(8), nullable=False)
    text = Column(Text, nullable=False)
    decided_by = Column(String(255), nullable=False)
    decided_at = Column(DateTime(timezone=True), nullable=False)
    version = Column(Integer, nullable=False)


class TrainingChange(Base):
    """One change in the studio: who, when, what, and the state before and after (append-only)."""

    __tablename__ = "training_changes"

    id = Column(Id, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    user = Column(String(255), nullable=False)
    what = Column(String(64), nullable=False)
    target = Column(String(255), nullable=False, index=True)
    before = Column(JSON, nullable=True)
    after = Column(JSON, nullable=True)

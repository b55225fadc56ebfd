"""Tables of the website content: pages and the passages the assistant searches.

Unlike the archive, content is a working copy of the municipality's website: ingesting again
replaces a changed page and its passages, and removes pages that disappeared.
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint

from bot.storage.base import Base, Id


class ContentPage(Base):
    """One web page of a municipality, as last ingested."""

    __tablename__ = "content_pages"
    __table_args__ = (UniqueConstraint("municipality", "url", name="uq_content_pages_municipality_url"),)

    id = Column(Id, primary_key=True, autoincrement=True)
    municipality = Column(String(64), nullable=False, index=True)
    url = Column(String(1000), nullable=False)
    # Where the page was read from (its URL, or its path in a folder of saved pages).
    location = Column(String(1000), nullable=False)
    title = Column(String(500), nullable=False)
    language = Column(String(8), nullable=False)
    modified_at = Column(DateTime(timezone=True), nullable=True)
    ingested_at = Column(DateTime(timezone=True), nullable=False)
    content_hash = Column(String(64), nullable=False)
    headings = Column(JSON, nullable=True)
    text = Column(Text, nullable=False)


class ContentPassage(Base):
    """A few sentences under one heading of a page: the unit the assistant searches and quotes."""

    __tablename__ = "content_passages"

    id = Column(Id, primary_key=True, autoincrement=True)
    page_id = Column(Id, ForeignKey("content_pages.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    heading = Column(String(500), nullable=True)
    text = Column(Text, nullable=False)
    sentences = Column(JSON, nullable=False)


class ContentEmbedding(Base):
    """The vector of one text to search (a passage, or a sentence with its heading), keyed by a
    hash of the model and the text (see :mod:`bot.content.embeddings`)."""

    __tablename__ = "content_embeddings"

    key = Column(String(64), primary_key=True)
    vector = Column(LargeBinary, nullable=False)

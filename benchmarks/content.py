"""Benchmark of the passage ranker (bot.content.ranking) on SweFAQ, against two lexical baselines.

Run from the repository root::

    .venv/bin/python benchmarks/content.py [--split dev|test|both] [--data DIR] [--no-speed]

SweFAQ (Swedish public-authority FAQ, SuperLim 2): for each question, pick the right answer
among the answers of its category (``label`` indexes ``candidate_answers``). The default data
folder is ``../shared/benchmarks/swefaq`` beside the repository. Every system indexes the
unique answers of the split (the passages; never the questions or the labels) and ranks each
question's category; nothing is trained. Reported: top-1 accuracy and mean reciprocal rank
within category, for

* ``BM25 (no stemming)``: rank-bm25 ``BM25Okapi`` fitted on the category's answers, tokens
  ``\\w+`` of the lower-cased text: the published baseline (0.431 on test);
* ``char 2-6 TF-IDF``: scikit-learn ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 6))``
  fitted on all the split's answers, cosine: the published baseline (0.578 on test). With
  ``analyzer="char"`` the same set-up gives 0.523 on test, so ``char_wb`` is the one published;
* ``Ranker``: this project's ranker (``bot.content.ranking``), fitted on all the split's
  answers, searching with ``candidates`` = the category.

The parameters of ``Ranker`` were chosen on the dev split only; the test split is measured, not
tuned on. Then a no-answer check on dev (can one threshold tell a question whose answer is among
the candidates from one whose answer is not?) and a speed section: a synthetic index of 10,000
passages of 50-80 words recombined from sentences of the dev answers and the municipal page
excerpts, fit time, and the time of 500 queries over the whole index and over a language pool.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content.ranking import Ranker  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_DATA = SHARED / "benchmarks" / "swefaq"
MUNICIPAL_PAGES = SHARED / "benchmarks" / "municipal-pages" / "municipal_pages_excerpts.jsonl"
SPEED_PASSAGES = 10_000
SPEED_QUERIES = 500
_TOKEN = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

Row = Dict[str, object]


def load_split(data: Path, split: str) -> List[Row]:
    with (data / f"swefaq_{split}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def passages_of(rows: Sequence[Row]) -> Tuple[List[str], List[List[int]]]:
    """The split's unique answers (per category) and, per row, the indexes of its candidates."""
    index: Dict[Tuple[object, str], int] = {}
    passages: List[str] = []
    candidates: List[List[int]] = []
    for row in rows:
        ids = []
        for answer in row["candidate_answers"]:  # type: ignore[union-attr]
            key = (row["category_id"], answer)
            if key not in index:
                index[key] = len(passages)
                passages.append(answer)  # type: ignore[arg-type]
            ids.append(index[key])
        candidates.append(ids)
    return passages, candidates


def accuracy_mrr(rows: Sequence[Row], scores: Sequence[np.ndarray]) -> Tuple[float, float]:
    """Top-1 and MRR; ties are broken by candidate order, as ``numpy.argmax`` does."""
    top1, reciprocal = [], []
    for row, values in zip(rows, scores):
        label = int(row["label"])  # type: ignore[arg-type]
        values = np.asarray(values, dtype=float)
        rank = 1 + int(np.sum(values > values[label])) + int(np.sum(values[:label] == values[label]))
        top1.append(rank == 1)
        reciprocal.append(1.0 / rank)
    return float(np.mean(top1)), float(np.mean(reciprocal))


def bm25_baseline(rows: Sequence[Row]) -> List[np.ndarray]:
    from rank_bm25 import BM25Okapi

    def tokens(text: str) -> List[str]:
        return _TOKEN.findall(text.lower())

    out, cache = [], {}
    for row in rows:
        key = row["category_id"]
        if key not in cache:
            cache[key] = BM25Okapi([tokens(a) for a in row["candidate_answers"]])  # type: ignore[union-attr]
        out.append(np.asarray(cache[key].get_scores(tokens(row["question"]))))  # type: ignore[arg-type]
    return out


def char_tfidf_baseline(rows: Sequence[Row], analyzer: str = "char_wb") -> List[np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    passages, candidates = passages_of(rows)
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=(2, 6))
    matrix = vectorizer.fit_transform(passages)
    queries = vectorizer.transform([row["question"] for row in rows])  # type: ignore[misc]
    return [(matrix[c] @ queries[i].T).toarray().ravel() for i, c in enumerate(candidates)]


def ranker_scores(rows: Sequence[Row], ranker_factory: Callable[[], Ranker] = lambda: Ranker("sv")) -> List[np.ndarray]:
    passages, candidates = passages_of(rows)
    ranker = ranker_factory().fit(passages)
    return [ranker.scores(row["question"], candidates=c) for row, c in zip(rows, candidates)]  # type: ignore[arg-type]


_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_dense_cache: Dict[str, Tuple[List[np.ndarray], List[np.ndarray]]] = {}


def dense_features(rows: Sequence[Row]) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Per question, over its candidates: E5 cosine with the whole answer, and the best cosine
    with one of its sentences (what the assistant computes for passages and sentences)."""
    from bot.content.embeddings import embed_passages, embed_query

    key = str(id(rows))
    if key in _dense_cache:
        return _dense_cache[key]
    passages, candidates = passages_of(rows)
    whole = embed_passages(passages)
    sentences = [[s for s in _SENTENCES.split(p) if s.strip()] or [p] for p in passages]
    best_sentence = [embed_passages(parts) for parts in sentences]
    dense, per_sentence = [], []
    for row, cand in zip(rows, candidates):
        query = embed_query(str(row["question"]))
        dense.append(whole[cand] @ query)
        per_sentence.append(np.array([float((best_sentence[c] @ query).max()) for c in cand]))
    _dense_cache[key] = (dense, per_sentence)
    return dense, per_sentence


def dense_scores(rows: Sequence[Row]) -> List[np.ndarray]:
    return dense_features(rows)[0]


def _fused_matrix(rows: Sequence[Row]) -> List[np.ndarray]:
    lexical = ranker_scores(rows)
    dense, per_sentence = dense_features(rows)
    return [np.column_stack([lex, d, s]) for lex, d, s in zip(lexical, dense, per_sentence)]


_fusion_weights: Dict[str, np.ndarray] = {}


def learn_fused(dev_rows: Sequence[Row]) -> np.ndarray:
    """Weights of lexical, dense and best-sentence scores: a logistic regression on dev, the right
    answer of each question against the other candidates of its category."""
    from sklearn.linear_model import LogisticRegression

    x, y = [], []
    for row, matrix in zip(dev_rows, _fused_matrix(dev_rows)):
        x.append(matrix)
        y.append(np.arange(len(matrix)) == int(row["label"]))  # type: ignore[arg-type]
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(np.vstack(x), np.concatenate(y))
    return model.coef_[0]


def fused_scores(rows: Sequence[Row]) -> List[np.ndarray]:
    weights = _fusion_weights["dev"]
    return [matrix @ weights for matrix in _fused_matrix(rows)]


SYSTEMS: Dict[str, Callable[[Sequence[Row]], List[np.ndarray]]] = {
    "BM25 (rank-bm25, no stemming)": bm25_baseline,
    "char 2-6 TF-IDF (char_wb)": char_tfidf_baseline,
    "Ranker (lexical, this project)": ranker_scores,
    "E5-small dense alone": dense_scores,
    "fused (lexical + E5, weights from dev)": fused_scores,
}


def quality(data: Path, splits: Sequence[str]) -> Dict[str, Dict[str, Tuple[float, float]]]:
    results: Dict[str, Dict[str, Tuple[float, float]]] = {}
    sizes = {}
    _fusion_weights["dev"] = learn_fused(load_split(data, "dev"))
    for split in splits:
        rows = load_split(data, split)
        sizes[split] = (len(rows), len({r["category_id"] for r in rows}))
        for name, system in SYSTEMS.items():
            results.setdefault(name, {})[split] = accuracy_mrr(rows, system(rows))
    print("SweFAQ, within category: " + "; ".join(
        f"{split} {n} questions in {c} categories" for split, (n, c) in sizes.items()))
    width = 32
    header = f"{'system':{width}}" + "".join(f"{split + ' top-1':>12}{split + ' MRR':>10}" for split in splits)
    print(header)
    print("-" * len(header))
    names = ("lexical", "dense", "best sentence")
    print("fused weights (learned on dev): " + ", ".join(
        f"{n} {w:.2f}" for n, w in zip(names, _fusion_weights["dev"])) + " (the dev figure of the fused row is fitted, not held out)")
    for name, by_split in results.items():
        print(f"{name:{width}}" + "".join(f"{by_split[s][0]:>12.3f}{by_split[s][1]:>10.3f}" for s in splits))
    return results


ABLATIONS: Dict[str, Dict[str, object]] = {
    "Ranker as shipped": {},
    "  char n-grams only": {"word_weight": 0.0},
    "  word stems only": {"char_weight": 0.0},
    "  words only, no stemming": {"char_weight": 0.0, "stem": False},
    "  char + words without stemming": {"stem": False},
    "  global IDF only (local_idf=0)": {"local_idf": 0.0},
    "  candidate IDF only (local_idf=1)": {"local_idf": 1.0},
    "  char only, global IDF": {"word_weight": 0.0, "local_idf": 0.0},
    "  char 2-5": {"char_ngrams": (2, 5)},
    "  char 2-6": {"char_ngrams": (2, 6)},
    "  char 3-6": {"char_ngrams": (3, 6)},
    "  char 0.65 / words 0.35": {"char_weight": 0.65, "word_weight": 0.35},
    "  char 0.9 / words 0.1": {"char_weight": 0.9, "word_weight": 0.1},
    "  BM25 b=0.5": {"b": 0.5},
    "  BM25 k1=2.0": {"k1": 2.0},
}


def ablation(data: Path) -> None:
    """Dev only: the ranker with one thing changed at a time."""
    rows = load_split(data, "dev")
    print()
    print("Ablation on dev (top-1, MRR within category)")
    for name, options in ABLATIONS.items():
        top1, mrr = accuracy_mrr(rows, ranker_scores(rows, lambda: Ranker("sv", **options)))  # type: ignore[arg-type]
        print(f"  {name:36}{top1:>8.3f}{mrr:>8.3f}")


def no_answer_check(data: Path) -> None:
    """Dev only: the top score when the category holds the answer, and when another one does."""
    rows = load_split(data, "dev")
    passages, candidates = passages_of(rows)
    ranker = Ranker("sv").fit(passages)
    categories = sorted({r["category_id"] for r in rows})
    by_category = {}
    for row, cand in zip(rows, candidates):
        by_category[row["category_id"]] = cand
    rng = random.Random(7)
    answerable, unanswerable, right = [], [], []
    for row, cand in zip(rows, candidates):
        values = ranker.scores(row["question"], candidates=cand)  # type: ignore[arg-type]
        answerable.append(float(values.max()))
        right.append(int(np.argmax(values)) == int(row["label"]))  # type: ignore[arg-type]
        other = rng.choice([c for c in categories if c != row["category_id"]])
        elsewhere = ranker.scores(row["question"], candidates=by_category[other])  # type: ignore[arg-type]
        unanswerable.append(float(elsewhere.max()))
    pos, neg = np.array(answerable), np.array(unanswerable)
    auc = float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))
    print()
    print("No-answer check (dev): best score within the question's own category (answer present) "
          "against within a random other category (answer absent)")
    def spread(values: np.ndarray) -> str:
        return (f"median {np.median(values):.3f} "
                f"(p10 {np.percentile(values, 10):.3f}, p90 {np.percentile(values, 90):.3f})")

    print(f"  answer present: {spread(pos)}; absent: {spread(neg)}; ROC AUC {auc:.3f}")
    for threshold in (0.2, 0.25, 0.3):
        answered = pos >= threshold
        print(f"  threshold {threshold:.2f}: answers {answered.mean():.2f} of answerable questions "
              f"({np.mean(answered & np.array(right)):.2f} rightly), "
              f"{np.mean(neg >= threshold):.2f} of unanswerable ones")


def synthetic_passages(data: Path, count: int, seed: int = 0) -> Tuple[List[str], List[str]]:
    """``count`` passages of 50-80 words recombined from dev answers' and municipal excerpts' sentences."""
    pools: Dict[str, List[str]] = {"sv": [], "nb": [], "nn": []}
    for row in load_split(data, "dev"):
        for answer in row["candidate_answers"]:  # type: ignore[union-attr]
            pools["sv"].extend(s for s in _SENTENCE.split(answer) if len(s.split()) >= 4)
    if MUNICIPAL_PAGES.exists():
        with MUNICIPAL_PAGES.open(encoding="utf-8") as handle:
            for line in handle:
                page = json.loads(line)
                text = re.sub(r"\s+", " ", page.get("text", ""))
                if page.get("lang") in pools:
                    pools[page["lang"]].extend(s for s in _SENTENCE.split(text) if len(s.split()) >= 4)
    for lang in list(pools):
        pools[lang] = sorted(set(pools[lang]))
        if not pools[lang]:
            del pools[lang]
    rng = random.Random(seed)
    languages = sorted(pools)
    passages, langs = [], []
    while len(passages) < count:
        lang = languages[len(passages) % len(languages)]
        target, chosen = rng.randint(50, 80), []
        while sum(len(s.split()) for s in chosen) < target:
            chosen.append(rng.choice(pools[lang]))
        passages.append(" ".join(chosen))
        langs.append(lang)
    return passages, langs


def speed(data: Path) -> None:
    passages, langs = synthetic_passages(data, SPEED_PASSAGES)
    words = [len(p.split()) for p in passages]
    started = time.perf_counter()
    ranker = Ranker().fit(passages, langs)
    fit_s = time.perf_counter() - started
    rng = random.Random(1)
    questions = [str(r["question"]) for r in load_split(data, "dev")]
    queries: List[Tuple[str, str]] = [(q, "sv") for q in questions]
    while len(queries) < SPEED_QUERIES:  # the rest: 4-12 word windows of random passages
        i = rng.randrange(len(passages))
        tokens = passages[i].split()
        n = rng.randint(4, 12)
        start = rng.randrange(max(1, len(tokens) - n))
        queries.append((" ".join(tokens[start:start + n]), langs[i]))
    queries = queries[:SPEED_QUERIES]
    pools = {lang: [i for i, l in enumerate(langs) if l in (("nn", "nb") if lang != "sv" else ("sv",))]
             for lang in set(langs)}
    for query, lang in queries[:20]:  # warm-up
        ranker.search(query, language=lang)
    # The assistant's own search path: passages grouped into pages of eight, page fusion, synonyms.
    from bot.content.search import ContentIndex, _Passage

    from bot.content.embeddings import embed_passages

    # Real vectors of 300 of the passages, repeated with noise to 10,000: the time of the
    # products does not depend on the values, and embedding all 10,000 would take minutes.
    sample = embed_passages(passages[:300])
    noise = np.random.default_rng(3).normal(0, 0.02, (len(passages), sample.shape[1])).astype(np.float32)
    vectors = sample[np.arange(len(passages)) % len(sample)] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    index = ContentIndex([
        _Passage(i, f"https://example.invalid/page-{i // 8}", f"Side {i // 8}", None, (text,), lang)
        for i, (text, lang) in enumerate(zip(passages, langs))
    ], vectors, vectors)  # the fusion calibrated in data/content/answering.yml
    index_s = time.perf_counter() - started
    for query, lang in queries[:20]:
        index.search(query, lang)
    timings: Dict[str, List[float]] = {"whole index (lexical)": [], "language pool (lexical, candidates)": [],
                                       "assistant's search (ContentIndex, question embedding included)": []}
    for query, lang in queries:
        started = time.perf_counter()
        index.search(query, lang, top_k=3)
        timings["assistant's search (ContentIndex, question embedding included)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ranker.search(query, top_k=5, language=lang)
        timings["whole index (lexical)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ranker.search(query, top_k=5, language=lang, candidates=pools[lang])
        timings["language pool (lexical, candidates)"].append(time.perf_counter() - started)
    print()
    mix = ", ".join(f"{lang} {langs.count(lang)}" for lang in sorted(set(langs)))
    print(f"Speed: {len(passages)} synthetic passages ({mix}; "
          f"{statistics.fmean(words):.0f} words on average, {min(words)}-{max(words)}); "
          f"{len(ranker._char.vocabulary)} char n-grams, {len(ranker._word.vocabulary)} stems")  # noqa: SLF001
    print(f"  fit: {fit_s:.2f} s (ContentIndex with pages and synonyms: {index_s:.2f} s)")
    for name, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        print(f"  query, {name}: p50 {ms[len(ms) // 2]:.2f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.2f} ms, "
              f"max {ms[-1]:.2f} ms over {len(ms)} queries")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"SweFAQ folder (default {DEFAULT_DATA})")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed section")
    parser.add_argument("--ablation", action="store_true", help="also run the dev ablation of the ranker's signals")
    args = parser.parse_args(argv)
    data = args.data if args.data.is_absolute() else Path.cwd() / args.data
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    missing = [s for s in splits if not (data / f"swefaq_{s}.jsonl").exists()]
    if missing:
        print(f"SweFAQ file(s) not found in {data}: {', '.join(missing)}", file=sys.stderr)
        return 2
    quality(data, splits)
    if (data / "swefaq_dev.jsonl").exists():
        no_answer_check(data)
        if args.ablation:
            ablation(data)
        if not args.no_speed:
            speed(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the language identification (bot.language.detector) against plain lingua.

Run from the repository root::

    .venv/bin/python benchmarks/language.py [--file PATH]

The default file is the UD test set ``../shared/benchmarks/langid/ud_test_nb_nn_sv.tsv``
(columns lang, sent_id, text; labels nn, nb, sv). It is a TEST set: it is only measured
here, never used to build the marker lists. Prints accuracy overall, per language and on
sentences of at most 8 words, and the mean and 95th-percentile time per message, for this
project's detector and for plain lingua restricted to the same three languages.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.language import detector  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "benchmarks" / "langid" / "ud_test_nb_nn_sv.tsv"
SHORT_WORDS = 8
LANGS = detector.LANGUAGES


def read_rows(path: Path) -> List[Tuple[str, str]]:
    """(lang, text) rows of a TSV file with a header holding at least ``lang`` and ``text``."""
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"lang", "text"} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [(row["lang"].strip(), row["text"] or "") for row in reader if row.get("lang")]


def plain_lingua(text: str) -> str:
    scores = detector.lingua_scores(text)
    return max(scores, key=scores.get) if any(scores.values()) else detector.NEUTRAL_LANGUAGE


def ours(text: str) -> str:
    return detector.detect(text).language


def evaluate(predict: Callable[[str], str], rows: Sequence[Tuple[str, str]]) -> Dict[str, object]:
    correct: Dict[str, List[int]] = {}
    times: List[float] = []
    for lang, text in rows:
        start = time.perf_counter()
        guess = predict(text)
        times.append(time.perf_counter() - start)
        hit = int(guess == lang)
        short = len(text.split()) <= SHORT_WORDS
        for key in ("all", lang, "short" if short else "long", f"short:{lang}" if short else f"long:{lang}"):
            correct.setdefault(key, []).append(hit)
    times.sort()
    return {
        "acc": {key: (sum(hits) / len(hits), len(hits)) for key, hits in correct.items()},
        "mean_ms": statistics.fmean(times) * 1000 if times else 0.0,
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))] * 1000 if times else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help=f"TSV file (default {DEFAULT_FILE})")
    args = parser.parse_args(argv)
    path = args.file if args.file.is_absolute() else (Path.cwd() / args.file)
    if not path.exists():
        print(f"benchmark file not found: {path}", file=sys.stderr)
        return 2
    rows = read_rows(path)
    unknown = sorted({lang for lang, _ in rows} - set(LANGS))
    if unknown:
        print(f"note: rows labelled {', '.join(unknown)} count as errors for both systems", file=sys.stderr)

    started = time.perf_counter()
    detector.warm_up()  # model loading is not part of the per-message time
    warm_up_s = time.perf_counter() - started
    # a short warm-up pass, then each system runs over the whole file once
    for _, text in rows[:50]:
        ours(text)
        plain_lingua(text)
    results = {"this project": evaluate(ours, rows), "plain lingua": evaluate(plain_lingua, rows)}

    keys = ["all"] + list(LANGS) + ["short"] + [f"short:{lang}" for lang in LANGS]
    labels = {"all": "overall", "short": f"<= {SHORT_WORDS} words"}
    first = next(iter(results.values()))["acc"]
    print(f"Language identification on {path.name}: {len(rows)} sentences "
          f"({', '.join(f'{lang} {first.get(lang, (0, 0))[1]}' for lang in LANGS)}); "
          f"{first.get('short', (0, 0))[1]} of at most {SHORT_WORDS} words")
    name_width = 30
    header = f"{'':{name_width}}" + "".join(f"{name:>15}" for name in results)
    print(header)
    print("-" * len(header))
    for key in keys:
        if key not in first:
            continue
        label = labels.get(key) or (f"  {key.split(':')[1]} (<= {SHORT_WORDS} words)" if key.startswith("short:") else f"  {key}")
        cells = "".join(f"{result['acc'][key][0]:>15.3f}" for result in results.values())
        print(f"{label + ' (n=' + str(first[key][1]) + ')':{name_width}}{cells}")
    print("-" * len(header))
    print(f"{'mean ms / message':{name_width}}" + "".join(f"{r['mean_ms']:>15.3f}" for r in results.values()))
    print(f"{'p95 ms / message':{name_width}}" + "".join(f"{r['p95_ms']:>15.3f}" for r in results.values()))
    print(f"(model loading, once per process: {warm_up_s:.2f} s, not included above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

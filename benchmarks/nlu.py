"""Benchmark of the project's NLU pipeline on NorSID intents, against a character n-gram SVM.

Run from the repository root::

    .venv/bin/python benchmarks/nlu.py [--data DIR] [--config config.yml]

NorSID (VarDial 2025; ``../shared/benchmarks/norsid/``) holds real Norwegian requests to a voice
assistant in Bokmål (B) and West-Norwegian (V), Trøndersk (T) and North-Norwegian (N) dialect
spellings. Both systems train on ``norsid_dev_intents.tsv`` only and are measured on
``norsid_test_intents.tsv`` (never trained or tuned on):

* ``this project``: Rasa's NLU trained with the ``pipeline`` of the project's ``config.yml``
  (same components and settings, LanguageIdentifier included, policies left out), through
  Rasa's own training API in a temporary folder. The prediction is the classifier's best intent
  (``nlu_fallback`` only flags low confidence; how often it would have fired is printed too).
* ``char n-gram SVM``: scikit-learn ``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5),
  sublinear_tf=True)`` and ``LinearSVC(C=1)``, the baseline of the shared task's kind.

Prints accuracy overall and per dialect, training time and the time per message (mean, p95).
Published figures on this test: mBERT 0.8415, the best shared-task system 0.9802.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.training import (  # noqa: E402
    NluParser, languages_of, nlu_config, quiet_rasa, top_intent, train_nlu, write_nlu_yaml,
)

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "norsid"
DIALECTS = {"B": "Bokmål", "V": "West Norwegian", "T": "Trøndersk", "N": "North Norwegian"}
Row = Tuple[str, str, str]  # dialect, intent, text


def read_rows(path: Path) -> List[Row]:
    """(dialect, intent, text) rows of a NorSID intents TSV (columns id, dialect, intent, text)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r["dialect"].strip(), r["intent"].strip(), r["text"].strip()) for r in reader if r.get("text")]


def rasa_intent(name: str) -> str:
    """NorSID intent names as Rasa intent names ('/' means a retrieval intent to Rasa)."""
    return name.replace("/", "__")


def evaluate(predict: Callable[[str], str], rows: Sequence[Row]) -> Dict[str, object]:
    hits: Dict[str, List[int]] = {}
    times: List[float] = []
    for dialect, intent, text in rows:
        started = time.perf_counter()
        guess = predict(text)
        times.append(time.perf_counter() - started)
        for key in ("all", dialect):
            hits.setdefault(key, []).append(int(guess == rasa_intent(intent)))
    times.sort()
    return {
        "acc": {key: (sum(h) / len(h), len(h)) for key, h in hits.items()},
        "mean_ms": statistics.fmean(times) * 1000,
        "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000,
    }


def svm_baseline(train: Sequence[Row]) -> Tuple[Callable[[str], str], float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True, lowercase=True),
        LinearSVC(C=1.0),
    )
    model.fit([text for _, _, text in train], [rasa_intent(intent) for _, intent, _ in train])
    seconds = time.perf_counter() - started
    return (lambda text: model.predict([text])[0]), seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"NorSID folder (default {DEFAULT_DATA})")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="Rasa config whose pipeline is trained")
    args = parser.parse_args(argv)
    train_file, test_file = args.data / "norsid_dev_intents.tsv", args.data / "norsid_test_intents.tsv"
    for path in (train_file, test_file, args.config):
        if not path.exists():
            print(f"benchmark file not found: {path}", file=sys.stderr)
            return 2
    train, test = read_rows(train_file), read_rows(test_file)
    print(f"NorSID intents: train on {train_file.name} ({len(train)} messages, "
          f"{len({i for _, i, _ in train})} intents), test on {test_file.name} ({len(test)} messages)", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-nlu-") as folder:
        work = Path(folder)
        # Rasa's training cache would make a second run look faster than a first one.
        os.environ.setdefault("RASA_CACHE_DIRECTORY", str(work / "cache"))
        quiet_rasa()  # Rasa's per-message debug log would be timed along with the parsing
        data = write_nlu_yaml([(text, rasa_intent(intent)) for _, intent, text in train], work / "nlu.yml")
        trained = train_nlu(nlu_config(args.config, work / "config.yml"), data, None, work / "models")
        nlu = NluParser(trained.path)
        fallbacks = 0

        def ours(text: str) -> str:
            nonlocal fallbacks
            parsed = nlu.parse(text)
            fallbacks += parsed["intent"]["name"] == "nlu_fallback"
            assert languages_of(parsed), "the pipeline lost its LanguageIdentifier"
            return top_intent(parsed)

        for _, _, text in test[:50]:  # warm-up (graph compilation), not measured
            ours(text)
        fallbacks = 0
        results = {"this project": evaluate(ours, test)}
        nlu.close()
        svm, svm_seconds = svm_baseline(train)
        results["char n-gram SVM"] = evaluate(svm, test)

    first = results["this project"]["acc"]
    width = 32
    header = f"{'':{width}}" + "".join(f"{name:>18}" for name in results)
    print(header)
    print("-" * len(header))
    for key, label in [("all", "overall")] + [(d, f"  {name} ({d})") for d, name in DIALECTS.items()]:
        if key in first:
            cells = "".join(f"{r['acc'][key][0]:>18.4f}" for r in results.values())
            print(f"{label + ' (n=' + str(first[key][1]) + ')':{width}}{cells}")
    print("-" * len(header))
    print(f"{'mean ms / message':{width}}" + "".join(f"{r['mean_ms']:>18.2f}" for r in results.values()))
    print(f"{'p95 ms / message':{width}}" + "".join(f"{r['p95_ms']:>18.2f}" for r in results.values()))
    print(f"{'training time (s)':{width}}{trained.seconds:>18.1f}{svm_seconds:>18.1f}")
    print(f"(this project: nlu_fallback would have fired on {fallbacks / len(test):.1%} of the test messages; "
          f"published: mBERT 0.8415, best shared-task system 0.9802)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Sentence splitting: spaCy's sentencizer against a regex splitter, on gold sentence boundaries.

Paragraphs are rebuilt from consecutive sentences of the UD test treebanks
(``../shared/benchmarks/langid/ud_test_nb_nn_sv.tsv``, used here only to measure) and each
splitter must find the original boundaries again. Prints precision, recall and F1 of the
boundaries, per language, and the time per paragraph.

    .venv/bin/python benchmarks/sentences.py
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content.passages import split_sentences_regex, split_sentences_spacy  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "langid" / "ud_test_nb_nn_sv.tsv"
PARAGRAPH = 4  # sentences per rebuilt paragraph


def boundaries(sentences):
    ends, position = set(), 0
    for sentence in sentences[:-1]:
        position += len(sentence) + 1
        ends.add(position)
    return ends


def found_boundaries(text, pieces):
    ends, position = set(), 0
    for piece in pieces[:-1]:
        position = text.index(piece, position) + len(piece)
        while position < len(text) and text[position].isspace():
            position += 1
        ends.add(position)
    return ends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT)
    args = parser.parse_args()
    by_language = defaultdict(list)
    with args.file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            by_language[row["lang"]].append(row["text"].strip())
    splitters = {
        "spaCy sentencizer": lambda text, lang: split_sentences_spacy(text, lang),
        "regex": lambda text, lang: split_sentences_regex(text),
    }
    print(f"Sentence boundaries in paragraphs of {PARAGRAPH} consecutive UD test sentences ({args.file.name})")
    print(f"{'splitter':<20}{'lang':<6}{'paragraphs':>11}{'precision':>11}{'recall':>9}{'F1':>7}{'ms/par.':>9}")
    for name, split in splitters.items():
        total = [0, 0, 0]
        for language, sentences in sorted(by_language.items()):
            tp = fp = fn = 0
            paragraphs = [sentences[i:i + PARAGRAPH] for i in range(0, len(sentences) - PARAGRAPH + 1, PARAGRAPH)]
            started = time.perf_counter()
            for paragraph in paragraphs:
                text = " ".join(paragraph)
                gold = boundaries(paragraph)
                found = found_boundaries(text, split(text, language))
                tp += len(gold & found)
                fp += len(found - gold)
                fn += len(gold - found)
            elapsed = (time.perf_counter() - started) * 1000 / max(1, len(paragraphs))
            precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
            f1 = 2 * precision * recall / max(1e-9, precision + recall)
            print(f"{name:<20}{language:<6}{len(paragraphs):>11}{precision:>11.3f}{recall:>9.3f}{f1:>7.3f}{elapsed:>9.2f}")
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
        tp, fp, fn = total
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(f"{name:<20}{'all':<6}{'':>11}{precision:>11.3f}{recall:>9.3f}{2 * precision * recall / max(1e-9, precision + recall):>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sets the safety classifier's thresholds by cross-validation on the tuning sets.

The tuning sets (``data/safety_eval/<lang>.yml``) are cut into :data:`FOLDS` parts; for each,
the classifier is trained on the NLU data, ``data/safety/training/`` and the other parts, and
scores the part it did not see. The thresholds written to ``data/safety/thresholds.yml`` are the
highest that keep the cross-validated recall at the targets (emergency + crisis
:data:`URGENT_TARGET`, political :data:`POLITICAL_TARGET`): recall first, then as few false
alarms as that allows. The held-out sets in ``tests/safety/`` are never read.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from bot.safety import classifier
from bot.safety.layer import SAFETY_DIR

FOLDS = 5
URGENT_TARGET = 0.995
POLITICAL_TARGET = 0.98
THRESHOLDS_FILE = SAFETY_DIR / "thresholds.yml"


def cross_validated(seed: int = 4711) -> List[Tuple[str, Dict[str, float]]]:
    """(class, probabilities) for every tuning example, each scored by a model that did not see it."""
    base = classifier.nlu_examples(classifier.nlu_training_pairs())
    for path in classifier.safety_set_files((classifier.TRAINING_DIR,)):
        base += classifier.set_examples(path)
    tuning = [e for path in classifier.safety_set_files((classifier.TUNING_DIR,)) for e in classifier.set_examples(path)]
    order = list(range(len(tuning)))
    random.Random(seed).shuffle(order)
    scored: List[Tuple[str, Dict[str, float]]] = []
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        model = classifier.train(base + [e for i, e in enumerate(tuning) if i not in held])
        for i in sorted(held):
            text, label = tuning[i]
            scored.append((label, classifier.probabilities(model, text)))
    return scored


def _threshold(positives: Sequence[float], target: float) -> float:
    """The highest threshold at which at least ``target`` of the positives reach it."""
    ordered = sorted(positives, reverse=True)
    keep = max(1, int(-(-target * len(ordered) // 1)))  # ceil
    return round(max(0.05, ordered[keep - 1] - 1e-6), 3)


def calibrate(write: bool = True, path: Path = THRESHOLDS_FILE) -> Dict[str, object]:
    """Computes the thresholds, optionally writes them, and returns them with the CV figures."""
    scored = cross_validated()
    urgent = [p.get("emergency", 0) + p.get("crisis", 0) for label, p in scored if label in ("emergency", "crisis")]
    political = [p.get("political", 0) for label, p in scored if label == "political"]
    others = [p for label, p in scored if label == classifier.OTHER]
    thresholds = {"urgent": _threshold(urgent, URGENT_TARGET), "political": _threshold(political, POLITICAL_TARGET)}
    figures = {
        "urgent_recall": sum(u >= thresholds["urgent"] for u in urgent) / len(urgent),
        "urgent_false_alarms": sum(p.get("emergency", 0) + p.get("crisis", 0) >= thresholds["urgent"]
                                   for p in others) / len(others),
        "political_recall": sum(p >= thresholds["political"] for p in political) / len(political),
        "political_false_alarms": sum(p.get("political", 0) >= thresholds["political"] for p in others) / len(others),
    }
    if write:
        header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")] \
            if path.exists() else []
        body = [f"urgent: {thresholds['urgent']}", f"political: {thresholds['political']}"]
        comment = [f"# Cross-validated on data/safety_eval/: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())]
        path.write_text("\n".join([l for l in header if not l.startswith("# Cross-validated")] + comment + body) + "\n",
                        encoding="utf-8")
    return {"thresholds": thresholds, "figures": figures}

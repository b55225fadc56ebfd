"""Sets the safety classifier's thresholds by cross-validation on the tuning sets.

The tuning sets (``data/safety_eval/<lang>.yml``) are cut into :data:`FOLDS` parts; for each,
the classifier is trained on the NLU data, ``data/safety/training/`` and the other parts, and
scores the part it did not see. The thresholds written to ``data/safety/thresholds.yml`` are the
lowest (recall first) whose cross-validated false alarms on the look-alikes stay within a budget
(:data:`URGENT_BUDGET`, :data:`POLITICAL_BUDGET`). The held-out sets in ``tests/safety/`` are
never read.
"""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from bot.safety import classifier
from bot.safety.embeddings import Encoder
from bot.safety.layer import SAFETY_DIR

FOLDS = 5
#: False alarms on the tuning look-alikes that the thresholds may cost: half the gates (2 % and
#: 5 %), so that the rest of the recall-first trade is left for messages unlike the tuning sets.
URGENT_BUDGET = 0.0075
POLITICAL_BUDGET = 0.015
#: The classifier's probability below which a word-list hit does not count (see layer.py).
WORDS_FLOOR = 0.2
THRESHOLDS_FILE = SAFETY_DIR / "thresholds.yml"


def cross_validated(seed: int = 4711) -> List[Tuple[str, str, Dict[str, float]]]:
    """(class, text, probabilities) for every tuning example, scored by a model that did not see it."""
    base = classifier.nlu_examples(classifier.nlu_training_pairs())
    for path in classifier.safety_set_files((classifier.TRAINING_DIR,)):
        base += classifier.set_examples(path)
    tuning = [e for path in classifier.safety_set_files((classifier.TUNING_DIR,)) for e in classifier.set_examples(path)]
    order = list(range(len(tuning)))
    random.Random(seed).shuffle(order)
    encoder = Encoder()
    vectors = dict(zip([t for t, _ in tuning], encoder.many([t for t, _ in tuning])))
    scored: List[Tuple[str, str, Dict[str, float]]] = []
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        model = classifier.train(base + [e for i, e in enumerate(tuning) if i not in held], encoder)
        for i in sorted(held):
            text, label = tuning[i]
            scored.append((label, text, model.probabilities(text, vector=vectors[text])))
    return scored


def _threshold(negatives: Sequence[float], negatives_covered: Sequence[bool], budget: float) -> float:
    """The lowest threshold (most recall) whose false alarms on the look-alikes stay within ``budget``.

    ``negatives_covered`` says where the word lists already fire, whatever the score.
    """
    fixed = sum(negatives_covered)
    free = sorted((n for n, c in zip(negatives, negatives_covered) if not c), reverse=True)
    allowed = int(budget * len(negatives)) - fixed  # look-alikes the classifier may still flag
    if allowed < 0:
        return 0.99
    # just above the (allowed + 1)-th highest look-alike score
    ceiling = free[allowed] if allowed < len(free) else 0.0
    return round(min(0.99, max(0.05, ceiling + 1e-3)), 3)


def calibrate(write: bool = True, path: Path = THRESHOLDS_FILE) -> Dict[str, object]:
    """Computes the thresholds, optionally writes them, and returns them with the CV figures.

    The figures are those of the whole layer (word lists, then the classifier at the thresholds),
    cross-validated, on the tuning sets.
    """
    from bot.safety import layer

    scored = cross_validated()
    floor_only = replace(layer.load_rules(), thresholds={"words_floor": WORDS_FLOOR, "urgent": 2.0, "political": 2.0})
    # what the word lists give each message, with the classifier's floor applied
    words = {t: layer.classify(t, probabilities=p, rules=floor_only).category for _, t, p in scored}
    def rows(labels, score, fires):
        chosen = [(score(p), fires(words[t])) for label, t, p in scored if label in labels]
        return [a for a, _ in chosen], [b for _, b in chosen]

    urgent_score = lambda p: p.get("emergency", 0) + p.get("crisis", 0)  # noqa: E731
    urgent_fires = lambda c: c in ("emergency", "crisis")  # noqa: E731
    thresholds = {
        "urgent": _threshold(*rows((classifier.LOOKALIKE,), urgent_score, urgent_fires), URGENT_BUDGET),
        "political": _threshold(*rows((classifier.LOOKALIKE,), lambda p: p.get("political", 0),
                                      lambda c: c == "political"), POLITICAL_BUDGET),
    }
    current = layer.load_rules()
    rules = replace(current, thresholds={**current.thresholds, **thresholds, "words_floor": WORDS_FLOOR})
    verdicts = [(label, layer.classify(t, probabilities=p, rules=rules).category) for label, t, p in scored]
    urgent_labels = ("emergency", "crisis")
    positives_u = [v for label, v in verdicts if label in urgent_labels]
    positives_p = [v for label, v in verdicts if label == "political"]
    negatives = [v for label, v in verdicts if label == classifier.LOOKALIKE]
    figures = {
        "urgent_recall": sum(v in urgent_labels for v in positives_u) / len(positives_u),
        "urgent_false_alarms": sum(v in urgent_labels for v in negatives) / len(negatives),
        "political_recall": sum(v == "political" for v in positives_p) / len(positives_p),
        "political_false_alarms": sum(v == "political" for v in negatives) / len(negatives),
    }
    if write:
        old_lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        header = [line for line in old_lines if line.startswith("#") and not line.startswith("# Cross-validated")]
        kept = [line for line in old_lines if line.split(":")[0] in ("small_talk_confidence", "political_over_small_talk")]
        comment = ["# Cross-validated on data/safety_eval/: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())]
        body = [f"urgent: {thresholds['urgent']}", f"political: {thresholds['political']}", f"words_floor: {WORDS_FLOOR}"]
        path.write_text("\n".join(header + comment + body + kept) + "\n", encoding="utf-8")
        layer.load_rules.cache_clear()
    return {"thresholds": thresholds, "figures": figures}

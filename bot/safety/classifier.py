"""The safety layer's own classifier: character and word n-grams, logistic regression.

It learns four classes (``emergency``, ``crisis``, ``political``, ``other``) from

* the NLU training data (``emergency``, ``crisis_support`` and ``political_question`` examples;
  every other intent's examples are ``other``);
* ``data/safety/training/<lang>.yml`` and the tuning sets ``data/safety_eval/<lang>.yml``
  (their look-alikes are ``other``).

The held-out sets in ``tests/safety/`` are never read here. Character n-grams carry typos,
dialect spellings and compounds; word pairs carry phrasing ("vil ikkje", "ikkje sant"). Training
takes a few seconds on two cores; classifying a message well under a millisecond.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.config import PROJECT_ROOT
from bot.safety.lexicon import normalise

TRAINING_DIR = PROJECT_ROOT / "data" / "safety" / "training"
TUNING_DIR = PROJECT_ROOT / "data" / "safety_eval"
OTHER = "other"
CLASS_BY_INTENT = {"emergency": "emergency", "crisis_support": "crisis", "political_question": "political"}
#: Regularisation, chosen by cross-validation on the tuning sets (``python -m bot safety calibrate``).
C = 10.0

Example = Tuple[str, str]  # (text, class)


def prepare(text: str) -> str:
    """The text as the classifier sees it (the layer's normalisation)."""
    return " ".join(normalise(text or ""))


def set_examples(path: Path) -> List[Example]:
    """Examples from one safety set file (classes, and look-alikes as ``other``)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = [(str(m), name) for name in ("emergency", "crisis", "political") for m in raw.get(name) or []]
    lookalike = raw.get("lookalike") or {}
    groups = lookalike.values() if isinstance(lookalike, dict) else [lookalike]
    examples += [(str(m), OTHER) for group in groups for m in group or []]
    return examples


def safety_set_files(directories: Sequence[Path] = (TRAINING_DIR, TUNING_DIR)) -> List[Path]:
    """The set files the classifier learns from, in a fixed order."""
    return [p for d in directories if d.is_dir() for p in sorted(d.glob("*.yml"))]


def nlu_examples(pairs: Iterable[Tuple[str, Optional[str]]]) -> List[Example]:
    """(text, intent) pairs of the NLU training data as classifier examples."""
    return [(text, CLASS_BY_INTENT.get(intent or "", OTHER)) for text, intent in pairs if text and intent]


def build():
    """An untrained pipeline (imported lazily: scikit-learn is heavy)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"),
        ),
        LogisticRegression(C=C, max_iter=3000, class_weight="balanced"),
    )


def train(examples: Sequence[Example]):
    """Trains the pipeline on (text, class) examples and returns it."""
    pipeline = build()
    pipeline.fit([prepare(t) for t, _ in examples], [c for _, c in examples])
    return pipeline


def probabilities(pipeline, text: str) -> Dict[str, float]:
    """The class probabilities of one message."""
    row = pipeline.predict_proba([prepare(text)])[0]
    return {str(c): float(p) for c, p in zip(pipeline.classes_, row)}


def nlu_training_pairs(nlu_dir: Path = PROJECT_ROOT / "data" / "nlu") -> List[Tuple[str, str]]:
    """(text, intent) pairs of ``data/nlu/<lang>/*.yml``, read without Rasa (for calibration)."""
    import re

    annotation = re.compile(r"\[([^\]]*)\]\([^)]*\)")
    pairs: List[Tuple[str, str]] = []
    for path in sorted(nlu_dir.glob("*/*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" not in item:
                continue
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    pairs.append((annotation.sub(r"\1", line[2:]), item["intent"]))
    return pairs

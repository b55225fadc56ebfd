"""The safety layer's own classifier: n-grams and sentence embeddings, two logistic regressions.

It learns four classes (``emergency``, ``crisis``, ``political``, ``other``) from

* the NLU training data (``emergency``, ``crisis_support`` and ``political_question`` examples;
  every other intent's examples are ``other``);
* ``data/safety/training/<lang>.yml`` and the tuning sets ``data/safety_eval/<lang>.yml``
  (their look-alikes are ``other``).

The held-out sets in ``tests/safety/`` are never read here. Character n-grams carry typos,
dialect spellings and compounds; word pairs carry phrasing ("vil ikkje", "ikkje sant"); the
embeddings (multilingual-e5-small, ``bot.safety.embeddings``) carry meaning across wordings
("vil berre slippe å vere her"). The two models' probabilities are averaged: cross-validated on
the tuning sets that gives 0.993 emergency+crisis recall at 1.3 % false alarms, against 2.2 % for
the n-grams alone (``python -m bot safety calibrate`` prints the current figures).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.core.config import PROJECT_ROOT
from bot.safety.lexicon import normalise

TRAINING_DIR = PROJECT_ROOT / "data" / "safety" / "training"
TUNING_DIR = PROJECT_ROOT / "data" / "safety_eval"
OTHER = "other"
CLASS_BY_INTENT = {"emergency": "emergency", "crisis_support": "crisis", "political_question": "political"}
#: Regularisation, chosen by cross-validation on the tuning sets (``python -m bot safety calibrate``).
C = 10.0
#: Weight of the negatives (look-alikes and the other intents' examples) against the positives
#: (cross-validated on the tuning sets, look-alikes only: false alarms 4.3 % at weight 1, 3.2 % at 3).
LOOKALIKE_WEIGHT = 3.0
#: Changes when the features or training change, so that Rasa's cache trains the layer again.
VERSION = "ngrams-e5-lr-4"
#: Regularisation of the embedding model.
C_EMBEDDINGS = 10.0

Example = Tuple[str, str]  # (text, class)
LOOKALIKE = "lookalike"  # the class of a look-alike before training, where it becomes OTHER


def prepare(text: str) -> str:
    """The text as the classifier sees it (the layer's normalisation)."""
    return " ".join(normalise(text or ""))


def set_examples(path: Path) -> List[Example]:
    """Examples from one safety set file (classes, and look-alikes as :data:`LOOKALIKE`)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = [(str(m), name) for name in ("emergency", "crisis", "political") for m in raw.get(name) or []]
    lookalike = raw.get("lookalike") or {}
    groups = lookalike.values() if isinstance(lookalike, dict) else [lookalike]
    examples += [(str(m), LOOKALIKE) for group in groups for m in group or []]
    return examples


def safety_set_files(directories: Sequence[Path] = (TRAINING_DIR, TUNING_DIR)) -> List[Path]:
    """The set files the classifier learns from, in a fixed order."""
    return [p for d in directories if d.is_dir() for p in sorted(d.glob("*.yml"))]


def nlu_examples(pairs: Iterable[Tuple[str, Optional[str]]]) -> List[Example]:
    """(text, intent) pairs of the NLU training data as classifier examples."""
    return [(text, CLASS_BY_INTENT.get(intent or "", OTHER)) for text, intent in pairs if text and intent]


def build():
    """An untrained n-gram pipeline (imported lazily: scikit-learn is heavy)."""
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


def _labels_and_weights(examples: Sequence[Example]) -> Tuple[List[str], List[float]]:
    # Every negative weighs as much as a look-alike: the NLU examples of other intents are the
    # greetings, thanks and questions most messages are, and a false alarm on them costs trust.
    return ([OTHER if c == LOOKALIKE else c for _, c in examples],
            [LOOKALIKE_WEIGHT if c in (LOOKALIKE, OTHER) else 1.0 for _, c in examples])


class SafetyClassifier:
    """The n-gram model and the embedding model, whose probabilities are averaged."""

    def __init__(self, ngrams: Any, embeddings: Any = None) -> None:
        self.ngrams = ngrams
        self.embeddings = embeddings

    @classmethod
    def train(cls, examples: Sequence[Example], encoder: Any = None) -> "SafetyClassifier":
        """Trains both models on (text, class) examples (look-alikes weigh more).

        Args:
            examples: the training examples.
            encoder: a :class:`bot.safety.embeddings.Encoder`; without one, n-grams only.
        """
        labels, weights = _labels_and_weights(examples)
        ngrams = build()
        ngrams.fit([prepare(t) for t, _ in examples], labels, logisticregression__sample_weight=weights)
        embeddings = None
        if encoder is not None:
            from sklearn.linear_model import LogisticRegression

            vectors = encoder.many([t for t, _ in examples])
            embeddings = LogisticRegression(C=C_EMBEDDINGS, max_iter=5000, class_weight="balanced")
            embeddings.fit(vectors, labels, sample_weight=weights)
        return cls(ngrams, embeddings)

    def probabilities(self, text: str, encoder: Any = None, vector: Any = None) -> Dict[str, float]:
        """The class probabilities of one message (the average of the two models)."""
        row = self.ngrams.predict_proba([prepare(text)])[0]
        result = {str(c): float(p) for c, p in zip(self.ngrams.classes_, row)}
        if self.embeddings is None or (encoder is None and vector is None):
            return result
        vector = encoder.one(text) if vector is None else vector
        other = self.embeddings.predict_proba([vector])[0]
        for c, p in zip(self.embeddings.classes_, other):
            result[str(c)] = (result.get(str(c), 0.0) + float(p)) / 2
        return result


def train(examples: Sequence[Example], encoder: Any = None) -> SafetyClassifier:
    """Trains the classifier (see :class:`SafetyClassifier`)."""
    return SafetyClassifier.train(examples, encoder)


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

"""Rasa NLU component that puts the safety layer above the intent classifier.

It is trained with the model: its classifier (``bot.safety.classifier``) learns from the NLU
training data and the safety sets in ``data/safety/training/`` and ``data/safety_eval/`` (their
contents are part of the component's fingerprint, so an edit there retrains it).

Used in ``config.yml`` as the last component, after ``FallbackClassifier``, so that nothing
after it can change what it decided::

    pipeline:
      ...
      - name: FallbackClassifier
      - name: bot.safety.component.SafetyLayer

For every message it asks :func:`bot.safety.layer.classify` and

* when a class fires, makes its intent (``emergency``, ``crisis_support`` or
  ``political_question``) the message's intent with confidence 1.0, whatever the classifier or the
  fallback said, also inside a greeting;
* when the intent classifier alone said a safety intent and the layer does not agree, gives the
  message the classifier's best other intent (the layer has the last word on these intents);
* always adds ``safety`` to the parse data (class, signal, evidence, what was switched off),
  which the archive keeps with the citizen's message.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety import classifier, layer

logger = logging.getLogger(__name__)
SAFETY = "safety"
MODEL_FILE = "safety_classifier.joblib"
FALLBACK_INTENT = "nlu_fallback"


def _best_classified(ranking: List[Dict[str, Any]], exclude: tuple = ()) -> Optional[Dict[str, Any]]:
    return next((r for r in ranking if r.get(INTENT_NAME_KEY) not in (FALLBACK_INTENT, *exclude)), None)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyLayer(GraphComponent):
    """Emergencies, crises and political opinion questions, which the classifier cannot out-vote."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        """The safety sets it learns from are files outside Rasa's training data."""
        digest = hashlib.sha256(classifier.VERSION.encode())
        for path in classifier.safety_set_files():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyLayer:
        """Creates an untrained component (see parent class for full docstring)."""
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SafetyLayer:
        """Loads the trained classifier (see parent class for full docstring)."""
        import joblib

        pipeline = None
        try:
            with model_storage.read_from(resource) as directory:
                pipeline = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("No trained safety classifier in the model; the word lists work alone")
        return cls(model_storage, resource, pipeline)

    def __init__(self, model_storage: ModelStorage, resource: Resource, pipeline: Any = None,
                 encoder: Any = None) -> None:
        """Compiles the word lists and loads the embedding model now, not on the first message."""
        from bot.safety.embeddings import Encoder

        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline
        self._encoder = encoder if encoder is not None else Encoder()
        layer.load_rules()

    def train(self, training_data: TrainingData) -> Resource:
        """Trains the safety classifier on the NLU examples and the safety sets, and stores it."""
        import joblib

        examples = classifier.nlu_examples(
            (m.get(TEXT), m.get(INTENT)) for m in training_data.intent_examples
        )
        for path in classifier.safety_set_files():
            examples += classifier.set_examples(path)
        self._pipeline = classifier.train(examples, self._encoder)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._pipeline, directory / MODEL_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Passes the training data through unchanged."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Applies the layer to each message (see the module docstring)."""
        for message in messages:
            self.apply(message)
        return messages

    def apply(self, message: Message) -> layer.Verdict:
        """Applies the layer to one message and returns its verdict."""
        started = time.perf_counter()
        text = message.get(TEXT)
        text = text if isinstance(text, str) else ""
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        current = message.get(INTENT) or {}
        if not ranking and current.get(INTENT_NAME_KEY):
            ranking = [current]
        top = _best_classified(ranking) or {}
        probabilities = (self._pipeline.probabilities(text, self._encoder)
                         if self._pipeline is not None and text else None)
        verdict = layer.classify(
            text, top.get(INTENT_NAME_KEY), float(top.get(PREDICTED_CONFIDENCE_KEY) or 0.0), probabilities
        )
        if verdict.intent is not None:
            chosen = {INTENT_NAME_KEY: verdict.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            others = [r for r in ranking if r.get(INTENT_NAME_KEY) != verdict.intent]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *others], add_to_output=True)
        elif current.get(INTENT_NAME_KEY) in layer.INTENTS.values():
            # The classifier said emergency, crisis or politics but the layer, which has the last
            # word on these, did not: the message gets the classifier's best other intent.
            replacement = _best_classified(ranking, exclude=tuple(layer.INTENTS.values()))
            if replacement is not None:
                message.set(INTENT, replacement, add_to_output=True)
        details = {**verdict.as_dict(), "intent_before": top.get(INTENT_NAME_KEY),
                   "intent_before_confidence": round(float(top.get(PREDICTED_CONFIDENCE_KEY) or 0.0), 4),
                   "intent_scores": {r.get(INTENT_NAME_KEY): round(float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0), 4)
                                     for r in ranking if r.get(INTENT_NAME_KEY) in layer.INTENTS.values()},
                   "ms": round((time.perf_counter() - started) * 1000, 3)}
        if probabilities:
            details["probabilities"] = {k: round(v, 3) for k, v in probabilities.items()}
        message.set(SAFETY, details, add_to_output=True)
        return verdict

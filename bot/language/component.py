"""Rasa NLU component that tags each message with its language (nn, nb or sv).

Used in ``config.yml`` after the intent classifier::

    pipeline:
      ...
      - name: bot.language.component.LanguageIdentifier

For every message it appends to ``entities``::

    {"entity": "language", "value": "nn", "start": 0, "end": len(text),
     "confidence": 0.97, "extractor": "LanguageIdentifier", "strong": True}

and, when the message explicitly asks for a language ("kan du skrive nynorsk?",
"på svenska tack"), the requested language under ``"requested"`` on the same entity. It is
one entity on purpose: Rasa's test stories compare entities by type, value and span, and a
second entity over the same span could not be annotated there. The decision whether the
conversation switches language is ``bot.language.detector.resolve_language``.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import detector

logger = logging.getLogger(__name__)

CONFIDENCE = "confidence"
STRONG = "strong"
REQUESTED = "requested"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageIdentifier(GraphComponent, EntityExtractorMixin):
    """Detects Nynorsk, Bokmål or Swedish and explicit requests to switch language."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # entity carrying the detected language
            "entity_name": "language",
            # build the language models when the component is created, not on the first message
            "warm_up": True,
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageIdentifier:
        """Creates a new `GraphComponent` (see parent class for full docstring)."""
        return cls(config, model_storage, resource)

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
    ) -> None:
        """Creates the component.

        Args:
            config: overrides of ``get_default_config()``.
            model_storage: unused (nothing is trained or persisted).
            resource: unused.
        """
        self._config = {**self.get_default_config(), **(config or {})}
        self._model_storage = model_storage
        self._resource = resource
        self.entity_name: Text = self._config["entity_name"]
        if self._config["warm_up"]:
            detector.warm_up()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Passes the training data through unchanged (the component learns nothing)."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends the language entities to each message (see the module docstring)."""
        for message in messages:
            entities = self.extract(message.get(TEXT))
            if entities is None:
                continue
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def extract(self, text: Any) -> Optional[List[Dict[Text, Any]]]:
        """The entities for one message text, or None when the message has no text."""
        if text is None:
            return None
        text = text if isinstance(text, str) else str(text)
        detection = detector.detect(text)
        entities: List[Dict[Text, Any]] = [
            {
                ENTITY_ATTRIBUTE_TYPE: self.entity_name,
                ENTITY_ATTRIBUTE_VALUE: detection.language,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                CONFIDENCE: round(float(detection.confidence), 4),
                STRONG: bool(detection.strong),
            }
        ]
        requested = detector.requested_language(text)
        if requested is not None:
            entities[0][REQUESTED] = requested
        return self.add_extractor_name(entities)

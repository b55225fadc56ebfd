"""Rasa NLU component: a greeting or a thank-you that goes on to ask something is that question.

"hei, kor mykje kostar sfo?" is classified as a greeting more often than as the question it is,
and the citizen would get only the opening hours. After the intent classifier (and before the
fallback), this component looks at messages classified as ``greet`` or ``thanks``: when the
words after the opening have at least :data:`MIN_CONTENT_WORDS` words that are neither greeting
nor filler (``data/dialogue/openers.yml``), the message gets the classifier's best intent that is
not small talk (when the classifier gives it at least :data:`MIN_CONFIDENCE`), and
``greeting_with_content`` in its parse data. Emergencies and crises inside a
greeting are the safety layer's (``bot.safety``), which comes last and wins anyway.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.config import PROJECT_ROOT
from bot.safety.lexicon import normalise

OPENERS_FILE = PROJECT_ROOT / "data" / "dialogue" / "openers.yml"
OPENING_INTENTS = ("greet", "thanks")
#: Intents that are not what a message with content asks for.
SMALL_TALK = ("greet", "thanks", "goodbye", "bot_challenge", "nlu_fallback")
MIN_CONTENT_WORDS = 2
#: The classifier must give the content intent at least this much; below it, the greeting stands.
MIN_CONFIDENCE = 0.1
GREETING_WITH_CONTENT = "greeting_with_content"


@functools.lru_cache(maxsize=2)
def _openers(path: Path = OPENERS_FILE) -> Dict[str, frozenset]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {name: frozenset(w for item in raw.get(name) or [] for w in normalise(str(item)))
            for name in ("greeting", "filler")}


def content_words(text: str) -> List[str]:
    """The words of a message that are neither greeting nor filler."""
    openers = _openers()
    return [w for w in normalise(text or "") if w not in openers["greeting"] and w not in openers["filler"]]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class GreetingWithContent(GraphComponent):
    """Gives a greeting that asks something the intent of what it asks."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GreetingWithContent:
        """Creates the component (see parent class for full docstring)."""
        return cls()

    def __init__(self) -> None:
        """Reads the opener words now, not on the first message."""
        _openers()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Passes the training data through unchanged."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Re-labels greetings with content (see the module docstring)."""
        for message in messages:
            self.apply(message)
        return messages

    @staticmethod
    def apply(message: Message) -> Optional[str]:
        """Re-labels one message if it is a greeting with content; returns the new intent or None."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        text = message.get(TEXT)
        if intent not in OPENING_INTENTS or not isinstance(text, str):
            return None
        if len(content_words(text)) < MIN_CONTENT_WORDS:
            return None
        ranking = message.get(INTENT_RANKING_KEY) or []
        best = next((r for r in ranking if r.get(INTENT_NAME_KEY) not in SMALL_TALK), None)
        if best is None or float(best.get("confidence") or 0.0) < MIN_CONFIDENCE:
            return None
        message.set(INTENT, dict(best), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [best, *(r for r in ranking if r is not best)], add_to_output=True)
        message.set(GREETING_WITH_CONTENT, True, add_to_output=True)
        return best.get(INTENT_NAME_KEY)

"""Language identification for the assistant: Nynorsk (nn), Bokmål (nb) and Swedish (sv).

``detect``, ``requested_language`` and ``resolve_language`` live in ``bot.language.detector``;
the Rasa NLU component is ``bot.language.component.LanguageIdentifier`` (imported from its
own module so that importing this package does not import Rasa).
"""
from bot.language.detector import (
    LANGUAGES,
    Detection,
    detect,
    requested_language,
    resolve_language,
    warm_up,
)

__all__ = ["LANGUAGES", "Detection", "detect", "requested_language", "resolve_language", "warm_up"]

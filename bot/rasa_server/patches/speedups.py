"""Speed-ups for the Rasa server process that change no behaviour.

Rasa 3.6 checks every action server answer with ``jsonschema.validate(result, schema)``, which
first checks the (large) schema itself, on every call: about 35 ms of CPU on the server's event
loop per custom action, two or more per turn here. :func:`install` makes it build the validator
once and reuse it: the same check with the same errors, about 0.5 ms.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

from bot.rasa_server.patches.originals import replace

_installed = False


@functools.lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.core.actions.action import DOCS_BASE_URL

    try:
        _action_result_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


def install() -> None:
    """Replaces Rasa's per-call schema check of action results by a cached validator (once)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import RemoteAction

    replace(RemoteAction, "_validate_action_result", _validate_action_result)
    _installed = True

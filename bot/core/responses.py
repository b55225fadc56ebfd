"""Citizen-facing texts from ``domain.yml``, for messages that do not come from a Rasa response.

Staff tools (a person has taken over, the assistant is back) and the personal-data warning word
their messages with the same responses trainers edit in ``domain.yml``, picking the variation
whose conditions match the conversation (its language, and any other slot values given).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from bot.core.config import PROJECT_ROOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"


class _Yaml12Loader(yaml.SafeLoader):
    """Reads YAML as Rasa does (1.2): ``NO`` is Norway's country code, not false."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


@functools.lru_cache(maxsize=4)
def _responses(path: Path) -> Dict[str, List[Dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        return (yaml.load(handle, Loader=_Yaml12Loader) or {}).get("responses") or {}


def _matches(variation: Mapping[str, Any], slots: Mapping[str, Any]) -> bool:
    return all(
        condition.get("type") == "slot" and slots.get(condition.get("name")) == condition.get("value")
        for condition in variation.get("condition") or []
    )


def response_text(
    name: str,
    slots: Mapping[str, Any],
    responses: Optional[Mapping[str, List[Dict[str, Any]]]] = None,
    **values: Any,
) -> str:
    """Returns the text of response ``name`` for a conversation in the given state.

    Args:
        name: a response in ``domain.yml``, e.g. ``utter_staff_took_over``.
        slots: the conversation's slot values the variations are conditioned on (``language`` ...).
        responses: responses to choose from (an action's domain); default ``domain.yml``.
        **values: values for ``{placeholders}`` in the text.

    Returns:
        The filled-in text of the first variation whose conditions all hold.

    Raises:
        KeyError: no such response, or no variation fits the slots.
    """
    variations = (responses if responses is not None else _responses(DOMAIN_FILE)).get(name)
    if not variations:
        raise KeyError(f"no response {name!r} in domain.yml")
    conditional = [v for v in variations if v.get("condition")]
    for variation in conditional + [v for v in variations if not v.get("condition")]:
        if _matches(variation, slots):
            return str(variation.get("text", "")).format_map(_Blank(values))
    raise KeyError(f"no variation of {name!r} fits {dict(slots)}")


class _Blank(dict):
    """Leaves unknown placeholders visible rather than failing on them."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"

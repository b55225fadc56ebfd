"""Rasa's own functions that the patches replace, kept so that tests can check them after installing."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Tuple

#: (class, attribute name) -> Rasa's own attribute, as it was before the first replacement.
ORIGINALS: Dict[Tuple[type, str], Any] = {}


def replace(owner: type, name: str, new: Any) -> None:
    """Sets ``owner.name`` to ``new``, remembering Rasa's own attribute the first time.

    Args:
        owner: the Rasa class.
        name: the attribute replaced.
        new: what replaces it.
    """
    ORIGINALS.setdefault((owner, name), inspect.getattr_static(owner, name))
    setattr(owner, name, new)


def original(owner: type, name: str) -> Any:
    """Rasa's own ``owner.name`` (also after a patch replaced it), unwrapped from staticmethod."""
    attribute = ORIGINALS.get((owner, name), inspect.getattr_static(owner, name, None))
    return getattr(attribute, "__func__", attribute)

"""The languages the assistant speaks: the one list, which every other module imports."""
from __future__ import annotations

from typing import Any, Optional, Tuple

#: Nynorsk, Bokmål and Swedish, in the order the project lists them everywhere.
LANGUAGES: Tuple[str, ...] = ("nn", "nb", "sv")


def known_language(value: Any) -> Optional[str]:
    """Returns ``value`` if it is one of ``LANGUAGES``, else None.

    Args:
        value: anything that may be a language code (a slot, metadata, an entity's value).
    """
    return value if value in LANGUAGES else None

"""The words of the archive exports, read from ``data/locale/archive/<lang>.yml``.

The transcript, the titles and the descriptions of a Noark 5 package are written in the
municipality's default language (``nb``, ``nn`` or ``sv``): a Swedish municipality's archive gets
Swedish labels, a Nynorsk one Nynorsk. The files have the same keys; a text's placeholders
(``{name}``) are filled in with :meth:`Labels.__call__`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

from bot.core.config import PROJECT_ROOT
from bot.core.languages import LANGUAGES

LABELS_DIR = PROJECT_ROOT / "data" / "locale" / "archive"


class Labels:
    """The export words of one language: ``labels("handoff.due", at=...)``."""

    def __init__(self, language: str, table: Mapping[str, str]) -> None:
        self.language = language
        self._table = dict(table)

    def __call__(self, key: str, **values: Any) -> str:
        """The text of ``key`` with its placeholders filled in.

        Raises:
            KeyError: the files have no such key (a programming error, caught by the tests).
        """
        text = self._table[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether ``key`` has a text (e.g. the title of a record kind)."""
        return key in self._table


def _read(path: Path) -> Dict[str, str]:
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise ValueError(f"{path}: expected one text per key")
    return table


@lru_cache(maxsize=None)
def load_labels(language: str, directory: Path = LABELS_DIR) -> Labels:
    """The export words of ``language`` (``nb``, ``nn`` or ``sv``).

    Raises:
        ValueError: the language has no labels file, or the file is not one text per key.
    """
    if language not in LANGUAGES:
        raise ValueError(f"no archive labels for language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return Labels(language, _read(Path(directory) / f"{language}.yml"))


def labels_for(municipality: Any) -> Labels:
    """The export words in the municipality's default language."""
    return load_labels(municipality.default_language)


__all__ = ["LABELS_DIR", "LANGUAGES", "Labels", "labels_for", "load_labels"]

"""The staff app's words (staff-facing), in Norwegian Bokmål and Swedish.

The wording lives in ``data/locale/staff/<ui>.yml`` (one key per text, the same keys in each
file), read once when this module is imported. The municipality's country picks the file:
NO → Norwegian (Bokmål), SE → Swedish.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import yaml

from bot.core.config import PROJECT_ROOT
# The filter offers every handoff reason, crises first (one list, in bot/core/reasons.py).
from bot.core.reasons import REASONS  # noqa: F401  (used by the app and its templates)
from bot.core.languages import LANGUAGES

WORDING_DIR = PROJECT_ROOT / "data" / "locale" / "staff"
UI_LANGUAGES = ("nb", "sv")


def load_wording(ui: str, directory: Path = WORDING_DIR) -> Dict[str, str]:
    """Reads the staff words of one UI language.

    Args:
        ui: "nb" or "sv".
        directory: folder of the wording files (default ``data/locale/staff``).

    Returns:
        Key → text, in the order of the file.

    Raises:
        ValueError: the file is not a flat mapping of text keys to texts.
    """
    path = directory / f"{ui}.yml"
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise ValueError(f"{path}: expected one text per key")
    return table


TEXTS: Dict[str, Dict[str, str]] = {ui: load_wording(ui) for ui in UI_LANGUAGES}


def ui_language(country: str) -> str:
    """Returns the UI dictionary key for a municipality's country (NO → nb, SE → sv)."""
    return "sv" if (country or "").upper() == "SE" else "nb"


def texts_for(country: str) -> Dict[str, str]:
    """The staff words for a municipality's country."""
    return TEXTS[ui_language(country)]


class Words:
    """Template helper: ``t.key`` or ``t('deadline.ok')``; unknown keys show the key itself."""

    def __init__(self, table: Dict[str, str]):
        self._table = table

    def __call__(self, key: str) -> str:
        return self._table.get(key, key)

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        return self._table.get(key, key)

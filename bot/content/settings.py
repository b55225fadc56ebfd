"""The answering settings: the fusion of the search features and the threshold to answer.

``python -m bot content calibrate`` writes them to ``data/content/answering.yml``; the search
index reads the fusion and the answer reads the threshold, so both import them from here.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict

import yaml

from bot.core.config import PROJECT_ROOT

SETTINGS_FILE = PROJECT_ROOT / "data" / "content" / "answering.yml"


@functools.lru_cache(maxsize=4)
def load_settings(path: Path = SETTINGS_FILE) -> Dict[str, object]:
    """The settings in ``path`` (empty before the first calibration), read once per path."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}

"""Shared fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("nn", "nb", "sv")


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Each test reads settings anew, with local state in its own folder."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    for name in ("MUNICIPALITY", "BOT_CLOCK", "DATABASE_URL"):
        if name in os.environ:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

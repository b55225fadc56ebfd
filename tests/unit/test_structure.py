"""The structure goals hold (``make structure``): no import cycle between modules or packages of
``bot/``, no module over 500 lines, no function over 80, no citizen or staff wording in Python."""
from __future__ import annotations

import subprocess
import sys

from bot.core.config import PROJECT_ROOT


def test_make_structure_meets_its_goals():
    result = subprocess.run([sys.executable, "tools/structure.py", "--check"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


def test_the_structure_check_finds_a_cycle(tmp_path, monkeypatch):
    """The measure itself: a package whose modules import each other is reported."""
    sys.path.insert(0, str(PROJECT_ROOT / "tools"))
    try:
        import structure
    finally:
        sys.path.pop(0)
    assert structure.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert structure.cycles({"a": {"b"}, "b": set()}) == []

"""Loads the trained model once for the tests that need it."""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def trained_model() -> Path:
    """Returns the model for the current data, training it if none matches (as ``make test`` does)."""
    subprocess.run([sys.executable, "-m", "bot", "train"], cwd=PROJECT_ROOT, check=True)
    output = subprocess.run(
        [sys.executable, "-m", "bot", "model-path"], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
    )
    return Path(output.stdout.strip())

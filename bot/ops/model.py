"""Trained models: one per version of the training data, named by its fingerprint.

``make run`` and ``make test`` train only when no model matches the current data, so a fresh
machine trains once and later starts are quick.
"""
from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, List

from bot.core.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

# What `rasa train` reads. Municipality profiles and website content are read at run time.
# The safety classifier also learns from data/safety/training and data/safety_eval.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories", "data/safety/training",
                   "data/safety_eval")
MODELS_DIR = PROJECT_ROOT / "models"


def _training_files(root: Path) -> List[Path]:
    files: List[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml")))
    return files


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    """Returns a short hash of everything ``rasa train`` reads."""
    from bot.safety.classifier import VERSION as SAFETY_CLASSIFIER_VERSION

    # The safety classifier's code version too: a change in how it learns needs a new model.
    digest = hashlib.sha256(SAFETY_CLASSIFIER_VERSION.encode())
    for path in _training_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    """Returns where the model for the current training data is (or will be) stored."""
    return root / "models" / f"assistant-{fingerprint(root)}.tar.gz"


def train(extra_args: Iterable[str] = (), force: bool = False) -> Path:
    """Trains a model for the current data unless one already exists.

    Args:
        extra_args: further arguments for ``rasa train``.
        force: train even if a matching model exists.

    Returns:
        The path of the model for the current data.
    """
    target = model_path()
    if target.exists() and not force:
        logger.info("Model %s matches the current data; not training.", target.name)
        return target
    command = [
        sys.executable, "-m", "rasa", "train",
        "--out", str(MODELS_DIR),
        "--fixed-model-name", target.name[: -len(".tar.gz")],
        *extra_args,
    ]
    print(f"Training a model for the current data: {' '.join(command[2:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    if not target.exists():
        raise RuntimeError(f"rasa train finished but {target} is missing")
    from bot.nlu.evaluate import record_full_training

    # The trainers' evaluation report shows how long a full training takes on this machine.
    record_full_training(time.perf_counter() - started)
    return target

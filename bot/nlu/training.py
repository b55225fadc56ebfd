"""Training an NLU model with the project's pipeline and parsing messages with it.

Shared by ``nlu evaluate`` and ``benchmarks/nlu.py``: both train Rasa's NLU part only (the
``pipeline`` of ``config.yml``, no policies) into a folder of their choice, and time it.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class TrainedNlu:
    """A trained NLU model and how long training took.

    Attributes:
        path: the model archive (``.tar.gz``).
        seconds: wall-clock training time.
        cpu_seconds: processor time of all threads (what the time would be on an idle machine
            with one core; it does not grow when other programs compete for the processors).
    """

    path: Path
    seconds: float
    cpu_seconds: float = 0.0


def quiet_rasa() -> None:
    """Keeps Rasa and TensorFlow to warnings: per-message debug logs and progress bars would
    drown the report (and slow every parse down)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "matplotlib", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)


def nlu_config(config_path: Path, target: Path) -> Path:
    """Writes a copy of ``config.yml`` with only what NLU training reads (no policies).

    Args:
        config_path: the project's ``config.yml``.
        target: where to write the copy.

    Returns:
        ``target``.
    """
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    config.pop("policies", None)
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def train_nlu(config_path: Path, nlu_data: Path, domain_path: Optional[Path], out_dir: Path) -> TrainedNlu:
    """Trains an NLU-only model with Rasa's own training API.

    Args:
        config_path: a Rasa ``config.yml`` (policies are ignored by NLU training).
        nlu_data: a file or folder of NLU training data.
        domain_path: the domain (intents and entities), or None.
        out_dir: folder the model archive is written to.

    Returns:
        The trained model and the training time.

    Raises:
        RuntimeError: Rasa produced no model.
    """
    from rasa.model_training import train_nlu as rasa_train_nlu

    out_dir.mkdir(parents=True, exist_ok=True)
    started, started_cpu = time.perf_counter(), time.process_time()
    result = rasa_train_nlu(
        config=str(config_path), nlu_data=str(nlu_data), output=str(out_dir),
        fixed_model_name="nlu", domain=str(domain_path) if domain_path else None,
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    if not result:
        raise RuntimeError(f"Rasa trained no NLU model from {nlu_data}")
    return TrainedNlu(Path(result), seconds, cpu_seconds)


class NluParser:
    """Parses messages with a trained model, synchronously (one event loop per parser)."""

    def __init__(self, model_path: Path) -> None:
        from rasa.core.agent import Agent

        self._loop = asyncio.new_event_loop()
        self._agent = Agent.load(str(model_path))

    def parse(self, text: str) -> Dict[str, Any]:
        """Returns Rasa's parse result for one message (intent, ranking, entities)."""
        return self._loop.run_until_complete(self._agent.parse_message(text))

    def close(self) -> None:
        """Releases the event loop."""
        self._loop.close()


def top_intent(parsed: Dict[str, Any]) -> str:
    """The classifier's best intent, looking past ``nlu_fallback`` (which only flags low confidence)."""
    for candidate in parsed.get("intent_ranking") or []:
        if candidate.get("name") != FALLBACK_INTENT:
            return candidate["name"]
    return (parsed.get("intent") or {}).get("name") or FALLBACK_INTENT


def languages_of(parsed: Dict[str, Any]) -> List[str]:
    """The values of the ``language`` entities of a parse result."""
    return [e["value"] for e in parsed.get("entities") or [] if e.get("entity") == "language"]


def write_nlu_yaml(examples: Sequence[tuple], target: Path) -> Path:
    """Writes (text, intent) pairs as a Rasa NLU YAML file.

    Args:
        examples: (text, intent) pairs.
        target: the file to write.

    Returns:
        ``target``.
    """
    by_intent: Dict[str, List[str]] = {}
    for text, intent in examples:
        by_intent.setdefault(intent, []).append(text)
    nlu = [{"intent": intent, "examples": "".join(f"- {_one_line(t)}\n" for t in texts)}
           for intent, texts in by_intent.items()]
    target.write_text(
        yaml.dump({"version": "3.1", "nlu": nlu}, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return target


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as ``|`` blocks, the way Rasa's NLU files look."""


def _literal(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal)

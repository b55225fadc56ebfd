"""Choosing the answer: the best passage if it is good enough, else an honest "no answer".

The decision uses a threshold on the ranker's score, calibrated on questions with known answers
and questions the website cannot answer (``python -m bot content calibrate``, written to
``data/content/answering.yml``). The snippet is made of complete sentences of the best passage,
about 300 characters at most, centred on the sentence that matches the question best.
"""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from bot.config import PROJECT_ROOT
from bot.content.search import Hit, search

SETTINGS_FILE = PROJECT_ROOT / "data" / "content" / "answering.yml"
MAX_SNIPPET_CHARS = 300
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Decision:
    """What the assistant does with a question: ``python -m bot content answer --json`` prints it."""

    answered: bool
    url: Optional[str]
    title: Optional[str]
    snippet: Optional[str]
    score: float

    def as_dict(self) -> Dict[str, object]:
        data = asdict(self)
        data["score"] = round(self.score, 4)
        return data


@functools.lru_cache(maxsize=4)
def _settings(path: Path) -> Dict[str, object]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def threshold(path: Path = SETTINGS_FILE) -> float:
    """The calibrated score a passage needs for the assistant to answer with it."""
    value = _settings(path).get("threshold")
    if not isinstance(value, (int, float)):
        raise RuntimeError(f"{path} has no threshold; run: python -m bot content calibrate")
    return float(value)


def _stems(text: str) -> set:
    # A crude shared-prefix match is enough to find the sentence that carries the answer.
    return {word[:5] for word in _WORD.findall(text.lower()) if len(word) > 2}


def snippet_of(question: str, sentences: Sequence[str], limit: int = MAX_SNIPPET_CHARS) -> str:
    """Complete sentences around the one that overlaps the question most, within ``limit``."""
    if not sentences:
        return ""
    wanted = _stems(question)
    best = max(range(len(sentences)), key=lambda i: (len(wanted & _stems(sentences[i])), -i))
    chosen: List[int] = [best]
    length = len(sentences[best])
    before, after = best - 1, best + 1
    while True:
        options = [i for i in (after, before) if 0 <= i < len(sentences) and length + 1 + len(sentences[i]) <= limit]
        if not options:
            break
        pick = options[0]
        chosen.append(pick)
        length += 1 + len(sentences[pick])
        if pick == after:
            after += 1
        else:
            before -= 1
    return " ".join(sentences[i] for i in sorted(chosen))


def decide(question: str, hits: Sequence[Hit], minimum: Optional[float] = None) -> Decision:
    """Turns ranked passages into the assistant's decision."""
    minimum = threshold() if minimum is None else minimum
    if not hits:
        return Decision(False, None, None, None, 0.0)
    best = hits[0]
    if best.score < minimum:
        return Decision(False, None, None, None, best.score)
    return Decision(True, best.url, best.title, snippet_of(question, best.sentences), best.score)


def answer(question: str, municipality: str, language: Optional[str] = None, url: Optional[str] = None) -> Decision:
    """Answers a citizen's question from the municipality's website, or says it cannot."""
    return decide(question, search(question, municipality, language, top_k=3, url=url))

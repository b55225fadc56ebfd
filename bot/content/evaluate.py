"""How well the assistant answers from a website, and the calibration of its answer threshold.

Question files (``data/content_eval/<municipality>.yml`` to calibrate, ``tests/content/`` to test)
list questions with the page that answers them, and questions the website cannot answer::

    language: nn
    answerable:
      - question: "ka tid kjem bosbilen"
        url: https://www.saltvika.kommune.no/...
    unanswerable:
      - "kvar kan eg kjøpe fiskekort"
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot.content.answer import SETTINGS_FILE
from bot.content.search import search

# The threshold keeps false answers on unanswerable calibration questions at or below this share:
# a public body would rather say "I don't know" than answer wrongly.
MAX_FALSE_ANSWERS = 0.10


@dataclass
class Scored:
    """One question's best passage."""

    question: str
    expected: Optional[str]
    top_url: Optional[str]
    score: float


@dataclass
class Report:
    """Figures for one question file at one threshold."""

    municipality: str
    threshold: float
    answerable: List[Scored] = field(default_factory=list)
    unanswerable: List[Scored] = field(default_factory=list)

    @property
    def top1(self) -> float:
        """Share of answerable questions whose best passage is on the right page."""
        return sum(s.top_url == s.expected for s in self.answerable) / max(1, len(self.answerable))

    @property
    def answered_correctly(self) -> float:
        """Share of answerable questions answered, from the right page."""
        return sum(s.top_url == s.expected and s.score >= self.threshold for s in self.answerable) / max(1, len(self.answerable))

    @property
    def false_answers(self) -> float:
        """Share of unanswerable questions that got an answer anyway."""
        return sum(s.score >= self.threshold for s in self.unanswerable) / max(1, len(self.unanswerable))

    def line(self) -> str:
        return (f"{self.municipality:<12} answerable {len(self.answerable):>3}: top-1 {self.top1:.3f}, "
                f"answered from the right page {self.answered_correctly:.3f} | unanswerable "
                f"{len(self.unanswerable):>3}: answered anyway {self.false_answers:.3f}")


def load_questions(path: Path) -> Tuple[str, List[Tuple[str, str]], List[str]]:
    """Reads a question file: (language, [(question, url)], [question])."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    answerable = [(item["question"], item["url"]) for item in data.get("answerable") or []]
    return data.get("language"), answerable, list(data.get("unanswerable") or [])


def score_questions(path: Path, municipality: str, threshold: float, url: Optional[str] = None) -> Report:
    """Runs every question of a file through the search the assistant uses."""
    language, answerable, unanswerable = load_questions(path)
    report = Report(municipality, threshold)
    for question, expected in answerable:
        hits = search(question, municipality, language, top_k=1, url=url)
        report.answerable.append(Scored(question, expected, hits[0].url if hits else None, hits[0].score if hits else 0.0))
    for question in unanswerable:
        hits = search(question, municipality, language, top_k=1, url=url)
        report.unanswerable.append(Scored(question, None, hits[0].url if hits else None, hits[0].score if hits else 0.0))
    return report


def choose_threshold(reports: Sequence[Report]) -> float:
    """The threshold that answers the most questions rightly with few false answers.

    Among thresholds that keep false answers on the unanswerable questions at or below
    :data:`MAX_FALSE_ANSWERS`, the one with the most right answers; ties go to the higher one.
    """
    answerable = [s for r in reports for s in r.answerable]
    unanswerable = [s for r in reports for s in r.unanswerable]
    candidates = sorted({round(s.score + 1e-6, 6) for s in answerable + unanswerable} | {0.0, 1.0})
    best: Tuple[int, float] = (-1, 1.0)
    for value in candidates:
        false = sum(s.score >= value for s in unanswerable) / max(1, len(unanswerable))
        if false > MAX_FALSE_ANSWERS:
            continue
        right = sum(s.top_url == s.expected and s.score >= value for s in answerable)
        if right > best[0] or (right == best[0] and value > best[1]):
            best = (right, value)
    return best[1]


def calibrate(question_files: Dict[str, Path], url: Optional[str] = None, target: Path = SETTINGS_FILE) -> Tuple[float, List[Report]]:
    """Chooses the threshold on calibration questions and writes it to ``data/content/answering.yml``."""
    scored = [score_questions(path, municipality, 0.0, url) for municipality, path in question_files.items()]
    value = choose_threshold(scored)
    reports = [Report(r.municipality, value, r.answerable, r.unanswerable) for r in scored]
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by `python -m bot content calibrate` from data/content_eval/*.yml: the score a passage",
        "# needs for the assistant to answer with it. Higher: fewer wrong answers, more \"I don't know\".",
        f"threshold: {value:.4f}",
        f"calibrated: {date.today().isoformat()}",
        "figures:",
        *[f"  - \"{r.line()}\"" for r in reports],
    ]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from bot.content import answer

    answer._settings.cache_clear()
    return value, reports

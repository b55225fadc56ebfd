"""Choosing the answer: the best passage if it is good enough, else an honest "no answer".

The decision uses a threshold on the fused search score (see ``search.Fusion``), learnt on
tuning questions with gold answers and questions the website cannot answer (``python -m bot
content calibrate``, written to ``data/content/answering.yml``). The snippet is made of complete
sentences of the best passage, about 300 characters at most, around the sentence closest in
meaning to the question; lines whose dates have all passed are left out.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bot.core import clock
from bot.content.dates import only_past
from bot.content.search import Hit, search
from bot.content.settings import SETTINGS_FILE, load_settings
from bot.municipality import MunicipalityError, load_municipality

MAX_SNIPPET_CHARS = 300
# Shared words count this much beside closeness in meaning (cosine) when choosing the sentence.
OVERLAP_WEIGHT = 0.05
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


def threshold(path: Path = SETTINGS_FILE) -> float:
    """The calibrated score a passage needs for the assistant to answer with it."""
    value = load_settings(path).get("threshold")
    if not isinstance(value, (int, float)):
        raise RuntimeError(f"{path} has no threshold; run: python -m bot content calibrate")
    return float(value)


def _stems(text: str) -> set:
    # A crude shared-prefix match is enough to help find the sentence that carries the answer.
    return {word[:5] for word in _WORD.findall(text.lower()) if len(word) > 2}


def best_sentence(question: str, sentences: Sequence[str], similarity: Sequence[float] = (),
                  today: Optional[date] = None) -> int:
    """The sentence that answers best: closest in meaning (when vectors are known), with shared
    words to break near ties; never a line whose dates have all passed, if another is left."""
    wanted = _stems(question)
    overlap = [len(wanted & _stems(s)) / max(1, len(wanted)) for s in sentences]
    meaning = list(similarity) if len(similarity) == len(sentences) else [0.0] * len(sentences)
    allowed = [i for i in range(len(sentences)) if today is None or not only_past(sentences[i], today)] or \
        list(range(len(sentences)))
    return max(allowed, key=lambda i: (meaning[i] + OVERLAP_WEIGHT * overlap[i], -i))


def snippet_of(question: str, sentences: Sequence[str], limit: int = MAX_SNIPPET_CHARS,
               similarity: Sequence[float] = (), today: Optional[date] = None) -> str:
    """Complete sentences around the one that answers best, within ``limit`` characters.

    The snippet holds the best sentence, and the lead sentence of its list when the best one is a
    list item (a line after one that ends with a colon); it grows forwards first, then backwards,
    a whole sentence at a time. Lines whose dates have all passed are left out.
    """
    if not sentences:
        return ""
    keep = [i for i in range(len(sentences)) if today is None or not only_past(sentences[i], today)]
    if not keep:
        keep = list(range(len(sentences)))
    kept = [sentences[i] for i in keep]
    kept_similarity = [similarity[i] for i in keep] if len(similarity) == len(sentences) else ()
    best = best_sentence(question, kept, kept_similarity, today)
    chosen: List[int] = [best]
    length = len(kept[best])
    lead = next((i for i in range(best - 1, -1, -1) if kept[i].endswith(":")), None)
    if lead is not None and length + 1 + len(kept[lead]) <= limit and not kept[best].endswith(":"):
        chosen.append(lead)
        length += 1 + len(kept[lead])
    before, after = min(chosen) - 1, best + 1
    while True:
        # Forwards first, then backwards: on the tuning questions, context on both sides shows
        # the gold answer in 455 of 650 snippets against 399 when growing forwards only.
        options = [i for i in (after, before) if 0 <= i < len(kept) and i not in chosen
                   and length + 1 + len(kept[i]) <= limit]
        if not options:
            break
        pick = options[0]
        chosen.append(pick)
        length += 1 + len(kept[pick])
        if pick == after:
            after += 1
        else:
            before -= 1
    picked = sorted(chosen)
    # The lead of a list and the item may not be next to each other: the items between them are
    # not part of the answer and are left out, so the snippet reads "Dei neste møta er: ...".
    return " ".join(kept[i] for i in picked)


def decide(question: str, hits: Sequence[Hit], minimum: Optional[float] = None,
           today: Optional[date] = None) -> Decision:
    """Turns ranked passages into the assistant's decision."""
    minimum = threshold() if minimum is None else minimum
    if not hits:
        return Decision(False, None, None, None, 0.0)
    best = hits[0]
    if best.score < minimum:
        return Decision(False, None, None, None, best.score)
    snippet = snippet_of(question, best.sentences, similarity=best.sentence_similarity, today=today)
    return Decision(True, best.url, best.title, snippet, best.score)


def local_today(municipality: str) -> date:
    """Today in the municipality's time zone (UTC for content without a profile)."""
    try:
        zone = load_municipality(municipality).zone
    except MunicipalityError:  # content of a site without a profile (a benchmark, a test): UTC is near enough
        return clock.now().date()
    return clock.now().astimezone(zone).date()


def answer(question: str, municipality: str, language: Optional[str] = None, url: Optional[str] = None,
           today: Optional[date] = None) -> Decision:
    """Answers a citizen's question from the municipality's website, or says it cannot.

    Args:
        question: the citizen's words.
        municipality: the profile id whose content to search.
        language: the conversation's language (nn, nb, sv).
        url: the database (default: the configured one).
        today: the local date that decides which dates have passed (default: today there).
    """
    hits = search(question, municipality, language, top_k=3, url=url)
    return decide(question, hits, today=today or local_today(municipality))

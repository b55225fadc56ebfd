"""The trainer inbox: the messages ``nlu harvest`` finds, newest first, with their decisions.

The messages come from :func:`bot.nlu.harvest.collect` (the same picking, masking and merging);
each is decided by the archive record id of its latest occurrence, and counts as decided when any
of its occurrences is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Dict, List, Optional

from bot.core import clock
from bot.core.config import PROJECT_ROOT
from bot.nlu import harvest
from bot.nlu.check import read_domain
from bot.training import store

DAYS = 90  # how far back the inbox reads the archive
# Harvest's reasons by the codes the inbox uses (in its filter and the staff wording).
REASONS: Dict[str, str] = {
    "low_confidence": harvest.LOW_CONFIDENCE,
    "fallback": harvest.FALLBACK,
    "unanswered": harvest.UNANSWERED,
    "thumbs_down": harvest.THUMBS_DOWN,
    "marked_by_staff": harvest.MARKED,
    "staff_disagreed": harvest.STAFF,
}
_CODES = {reason: code for code, reason in REASONS.items()}


@dataclass
class InboxEntry:
    """One message of the inbox.

    Attributes:
        candidate: what harvest found (masked text, language, guess, reasons, when).
        record_id: the archive record id a decision is stored under.
        reasons: the reason codes (keys of :data:`REASONS`).
        decision: the stored decision, if any.
    """

    candidate: harvest.Candidate
    record_id: int
    reasons: List[str]
    decision: Optional[store.DecisionView]

    @property
    def version(self) -> int:
        """The decision's version the page shows (0: undecided)."""
        return self.decision.version if self.decision else 0


def domain_intents(domain_path: Path = PROJECT_ROOT / "domain.yml") -> List[str]:
    """The intents of the domain, sorted: what a trainer may name."""
    return sorted(read_domain(domain_path, []).intents)


def entries(url: Optional[str] = None, *, language: str = "", reason: str = "", decided: bool = False,
            since: Optional[date] = None, nlu_dir: Path = PROJECT_ROOT / "data" / "nlu",
            domain_path: Path = PROJECT_ROOT / "domain.yml") -> List[InboxEntry]:
    """The inbox, newest first.

    Args:
        url: the archive database (default: ``DATABASE_URL``).
        language: only this language (``""``: all).
        reason: only messages with this reason code (``""``: all).
        decided: also show the messages already decided (with their decision).
        since: the first day read (default: :data:`DAYS` days ago).
        nlu_dir: the training data (harvest leaves out messages already there).
        domain_path: the domain.

    Returns:
        The messages, most recently seen first.
    """
    since = since or (clock.now() - timedelta(days=DAYS)).date()
    found, _ = harvest.collect(since, url=url, nlu_dir=nlu_dir, domain_path=domain_path)
    made = store.decisions(url)
    out: List[InboxEntry] = []
    for lang, candidates in found.items():
        if language and lang != language:
            continue
        for candidate in candidates:
            codes = sorted(_CODES[r] for r in candidate.reasons if r in _CODES)
            if reason and reason not in codes:
                continue
            decision = next((made[i] for i in sorted(candidate.record_ids, reverse=True) if i in made), None)
            if decision is not None and not decided:
                continue
            record_id = decision.record_id if decision else candidate.latest_record_id
            out.append(InboxEntry(candidate, record_id, codes, decision))
    out.sort(key=lambda e: (e.candidate.last_seen, e.record_id), reverse=True)
    return out

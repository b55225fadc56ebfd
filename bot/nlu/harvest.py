"""``python -m bot nlu harvest --since DATE``: real citizen messages worth labelling.

Reads the archive and picks the citizen messages the assistant had trouble with:

* ``low confidence``: the intent's confidence was below ``--below`` (default 0.6);
* ``fallback``: the NLU fell back (``nlu_fallback``) or the bot answered with ``utter_default``;
* ``unanswered handoff``: the message was handed to staff because the bot could not answer
  (reason ``unanswered``, or ``out_of_hours`` when it was not a request for a person);
* ``thumbs down``: the citizen said a website answer did not help (the question it answered);
* ``marked by staff``: a staff member pressed "the bot misunderstood this" on the message in the
  staff app (a ``Kind.STAFF_NOTE`` whose data names the message: ``misunderstood_record_id``);
* ``staff disagreed``: a staff member wrote ``intent: <name>`` (or ``#<name>``) in a note on the
  conversation's handoff and the NLU had guessed something else: the staff's label is used (the
  older convention, still read).

Per language it writes ``<out>/<lang>.yml`` in the form of ``data/nlu/``: each message under the
intent the model guessed (or staff named), with a comment saying why it is there, its
confidence, how often it was seen and when. Personal data (national ID numbers, phone numbers,
e-mail addresses) is masked. Messages that already are training examples, and button payloads
(``/feedback_helpful``), are left out. A trainer moves each line to the right intent in
``data/nlu/<lang>/``, or deletes it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import select

from bot.archive.models import ArchiveRecord, Handoff, Kind
from bot.core.config import PROJECT_ROOT, get_settings
from bot.language import detector
from bot.nlu.check import normalise, read_domain, training_examples
from bot.nlu.training import _one_line
from bot.privacy import mask_for_staff as mask
from bot.storage.db import ensure_schema, session_scope
from bot.core.languages import LANGUAGES

DEFAULT_BELOW = 0.6
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_RESPONSES = ("utter_default",)

LOW_CONFIDENCE = "low confidence"
FALLBACK = "fallback"
UNANSWERED = "unanswered handoff"
THUMBS_DOWN = "thumbs down"
STAFF = "staff disagreed"
MARKED = "marked by staff"
REASONS = (LOW_CONFIDENCE, FALLBACK, UNANSWERED, THUMBS_DOWN, MARKED, STAFF)
# The key of a staff note's data that marks a citizen message as misunderstood.
MISUNDERSTOOD = "misunderstood_record_id"

_STAFF_LABEL = re.compile(r"(?:\bintent\s*[:=]\s*|#)([a-z][a-z_]*)", re.IGNORECASE)


@dataclass
class Candidate:
    """A message to review, merged over every time it was seen.

    Attributes:
        text: the message with personal data masked.
        language: nn, nb or sv.
        guess: the intent the NLU gave it (the most recent time).
        confidence: the lowest confidence it got.
        reasons: why it was picked.
        label: the intent staff named for it, if any (used instead of the guess).
        count: how many times it was seen.
        first_seen, last_seen: when.
        conversations: ids of the conversations it came from.
        record_ids: the archive record ids of every time it was seen.
        latest_record_id: the record id of the most recent time.
    """

    text: str
    language: str
    guess: str
    confidence: Optional[float]
    reasons: Set[str] = field(default_factory=set)
    label: Optional[str] = None
    count: int = 0
    first_seen: Optional[datetime] = None
    last_seen: Optional[datetime] = None
    conversations: Set[str] = field(default_factory=set)
    record_ids: Set[int] = field(default_factory=set)
    latest_record_id: Optional[int] = None

    @property
    def intent(self) -> str:
        """Where the message is filed: staff's label, else the model's guess."""
        return self.label or self.guess


@dataclass
class HarvestSummary:
    """What ``harvest`` found and wrote."""

    since: date
    files: Dict[str, Path]
    candidates: Dict[str, List[Candidate]]
    messages_read: int

    def lines(self) -> List[str]:
        """A short report for the terminal."""
        out = [f"Read {self.messages_read} citizen messages since {self.since.isoformat()}."]
        for language in LANGUAGES:
            found = self.candidates.get(language, [])
            reasons: Dict[str, int] = {}
            for candidate in found:
                for reason in candidate.reasons:
                    reasons[reason] = reasons.get(reason, 0) + 1
            detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) or "nothing to review"
            out.append(f"{language}: {len(found)} message(s) to review ({detail}) -> {self.files[language]}")
        return out


def _normalise(text: str) -> str:
    return normalise(text)


def _known_examples(nlu_dir: Path) -> Set[str]:
    examples, _ = training_examples(nlu_dir, LANGUAGES, [])
    return {_normalise(e.text) for e in examples}


def _domain_intents(domain_path: Path) -> Set[str]:
    return set(read_domain(domain_path, []).intents)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _staff_label(note: str, intents: Set[str]) -> Optional[str]:
    for match in _STAFF_LABEL.finditer(note or ""):
        name = match.group(1).lower()
        if name in intents:
            return name
    return None


def masked_text(record) -> str:
    """A citizen message's text as harvest shows it: personal data masked, spacing collapsed."""
    return " ".join(mask(record.text or "").split())


def language_of(record) -> str:
    """A citizen message's language: the archived one, else the language detector's."""
    if record.language in LANGUAGES:
        return record.language
    return detector.detect(record.text or "").language


def collect(
    since: date,
    url: Optional[str] = None,
    below: float = DEFAULT_BELOW,
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu",
    domain_path: Path = PROJECT_ROOT / "domain.yml",
) -> tuple:
    """Finds the messages worth labelling.

    Args:
        since: first day (UTC) to read.
        url: the archive database (default: ``DATABASE_URL``).
        below: a confidence under this is "low".
        nlu_dir: the training data (messages already there are left out).
        domain_path: the domain (the intents staff may name in notes).

    Returns:
        (candidates per language, number of citizen messages read).
    """
    ensure_schema(url)
    start = datetime.combine(since, time.min, tzinfo=timezone.utc)
    known = _known_examples(nlu_dir)
    intents = _domain_intents(domain_path)
    with session_scope(url) as session:
        records = session.execute(
            select(ArchiveRecord).where(ArchiveRecord.occurred_at >= start)
            .order_by(ArchiveRecord.conversation_id, ArchiveRecord.seq)
        ).scalars().all()
        handoff_records = {h.id: h.record_id for h in session.execute(select(Handoff)).scalars()}
        by_id = {r.id: r for r in records}
        picked, labels, citizen_messages = _pick(records, by_id, handoff_records, below, intents)
        merged = _merge(picked, labels, by_id, known)
    ordered = {
        language: sorted(found.values(), key=lambda c: (-c.count, c.confidence if c.confidence is not None else 0, c.text))
        for language, found in merged.items()
    }
    return ordered, citizen_messages


def _pick(records: Sequence, by_id: Dict[int, object], handoff_records: Dict[int, int], below: float,
          intents: Set[str]) -> Tuple[Dict[int, Set[str]], Dict[int, str], int]:
    """Why each citizen message is worth labelling, read from what followed it in its conversation.

    Returns:
        (citizen record id -> reasons, citizen record id -> the intent staff named, number of
        typed citizen messages read).
    """
    picked: Dict[int, Set[str]] = {}
    labels: Dict[int, str] = {}
    last_citizen: Dict[str, object] = {}
    citizen_messages = 0
    for record in records:
        conversation = record.conversation_id
        if record.kind == Kind.CITIZEN_MESSAGE:
            if (record.text or "").startswith("/"):
                continue  # a button's payload, not typed text
            citizen_messages += 1
            last_citizen[conversation] = record
            reasons = picked.setdefault(record.id, set())
            if record.intent == FALLBACK_INTENT:
                reasons.add(FALLBACK)
            if record.confidence is not None and record.confidence < below:
                reasons.add(LOW_CONFIDENCE)
            continue
        previous = last_citizen.get(conversation)
        data = record.data or {}
        if record.kind == Kind.BOT_MESSAGE and previous is not None and data.get("response") in FALLBACK_RESPONSES:
            picked.setdefault(previous.id, set()).add(FALLBACK)
        elif record.kind == Kind.HANDOFF_EVENT and record.sender_id == "bot" and previous is not None:
            reason = data.get("reason")
            if reason == "unanswered" or (reason == "out_of_hours" and previous.intent != "request_human"):
                picked.setdefault(previous.id, set()).add(UNANSWERED)
        elif record.kind == Kind.FEEDBACK and data.get("helpful") is False:
            question = _question_before(records, by_id.get(data.get("answer_record_id")) or record)
            if question is not None:
                picked.setdefault(question.id, set()).add(THUMBS_DOWN)
        elif record.kind == Kind.STAFF_NOTE and data.get(MISUNDERSTOOD) is not None:
            target = by_id.get(data.get(MISUNDERSTOOD))
            if target is not None and target.kind == Kind.CITIZEN_MESSAGE:
                picked.setdefault(target.id, set()).add(MARKED)
        elif record.kind == Kind.STAFF_NOTE:
            label = _staff_label(record.text or "", intents)
            target = by_id.get(handoff_records.get(data.get("handoff_id"))) or previous
            if label and target is not None and target.kind == Kind.CITIZEN_MESSAGE and label != target.intent:
                picked.setdefault(target.id, set()).add(STAFF)
                labels[target.id] = label
    return picked, labels, citizen_messages


def _merge(picked: Dict[int, Set[str]], labels: Dict[int, str], by_id: Dict[int, object],
           known: Set[str]) -> Dict[str, Dict[str, Candidate]]:
    """The picked messages as candidates per language, one per masked and normalised text."""
    merged: Dict[str, Dict[str, Candidate]] = {language: {} for language in LANGUAGES}
    for record_id, reasons in picked.items():
        record = by_id.get(record_id)
        if not reasons or record is None or not (record.text or "").strip():
            continue
        text = masked_text(record)
        key = _normalise(text)
        if key in known and record_id not in labels and MARKED not in reasons:
            continue  # already a training example; evaluate shows how it fares
        language = language_of(record)
        seen_at = _utc(record.occurred_at)
        candidate = merged[language].get(key)
        if candidate is None:
            candidate = merged[language][key] = Candidate(
                text=text, language=language, guess=record.intent or FALLBACK_INTENT,
                confidence=record.confidence, first_seen=seen_at, last_seen=seen_at,
            )
        candidate.count += 1
        candidate.reasons |= reasons
        candidate.conversations.add(record.conversation_id)
        candidate.record_ids.add(record_id)
        candidate.label = labels.get(record_id, candidate.label)
        if record.confidence is not None and (candidate.confidence is None or record.confidence < candidate.confidence):
            candidate.confidence = record.confidence
        if seen_at >= candidate.last_seen:
            candidate.last_seen, candidate.guess = seen_at, record.intent or candidate.guess
            candidate.latest_record_id = record_id
        candidate.first_seen = min(candidate.first_seen, seen_at)
    return merged


def _question_before(records: Sequence, answer) -> Optional[object]:
    """The last typed citizen message of the conversation before ``answer``."""
    question = None
    for record in records:
        if record.conversation_id != answer.conversation_id or record.seq >= answer.seq:
            continue
        if record.kind == Kind.CITIZEN_MESSAGE and not (record.text or "").startswith("/"):
            question = record
    return question


def _comment(candidate: Candidate) -> str:
    confidence = f"{candidate.confidence:.2f}" if candidate.confidence is not None else "?"
    guess = f"model guessed {candidate.guess} ({confidence})"
    if candidate.label:
        guess = f"staff said {candidate.label}, {guess}"
    seen = candidate.last_seen.strftime("%Y-%m-%d") if candidate.last_seen else "?"
    times = f"{candidate.count} times, " if candidate.count > 1 else ""
    reasons = ", ".join(sorted(candidate.reasons))
    return f"# {reasons} · {guess} · {times}last {seen}"


def render(language: str, candidates: Iterable[Candidate], since: date) -> str:
    """The review file for one language, in the YAML form of ``data/nlu/``."""
    lines = [
        "# Messages from real conversations worth labelling, harvested by",
        f"# `python -m bot nlu harvest --since {since.isoformat()}` ({language}). Personal data is masked.",
        "# Each message is filed under the intent the model guessed (or staff named). For each one:",
        f"# move the line into data/nlu/{language}/ under the right intent, fix its wording if needed, or",
        "# delete it. Then run `make nlu-check` and `make nlu-evaluate`.",
        'version: "3.1"',
    ]
    entries = list(candidates)
    if not entries:
        lines.append("nlu: []")
        return "\n".join(lines) + "\n"
    lines.append("nlu:")
    for candidate in entries:
        text = _one_line(candidate.text)
        lines += [_comment(candidate), f"- intent: {candidate.intent}", "  examples: |", f"    - {text}", ""]
    return "\n".join(lines)


def harvest(
    since: date,
    out_dir: Optional[Path] = None,
    url: Optional[str] = None,
    below: float = DEFAULT_BELOW,
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu",
    domain_path: Path = PROJECT_ROOT / "domain.yml",
) -> HarvestSummary:
    """Writes one review file per language (see the module docstring).

    Args:
        since: first day (UTC) to read.
        out_dir: where ``nn.yml``, ``nb.yml`` and ``sv.yml`` go (default ``DATA_DIR/nlu_review``).
        url: the archive database (default: ``DATABASE_URL``).
        below: a confidence under this is "low".
        nlu_dir: the training data.
        domain_path: the domain.

    Returns:
        What was found and where it was written.
    """
    out_dir = out_dir or get_settings().data_dir / "nlu_review"
    candidates, read = collect(since, url=url, below=below, nlu_dir=nlu_dir, domain_path=domain_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: Dict[str, Path] = {}
    for language in LANGUAGES:
        path = out_dir / f"{language}.yml"
        path.write_text(render(language, candidates.get(language, []), since), encoding="utf-8")
        files[language] = path
    return HarvestSummary(since=since, files=files, candidates=candidates, messages_read=read)

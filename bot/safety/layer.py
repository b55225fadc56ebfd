"""The safety layer's decision: is a message an emergency, a crisis or a political opinion question?

It combines two measured signals:

* the trainer-editable word lists in ``data/safety/<lang>.yml`` (all three languages' lists are
  used for every message: a Swedish word in a Norwegian conversation is still a fire), with
  negation ("det brenn ikkje"), conditions ("viss det brenn"), the past ("brann i fjor") and
  look-alike phrases ("brannøving", "feiing") switching a hit off unless the message also says
  it is urgent ("hjelp", "no!");
* the safety classifier (``bot.safety.classifier``, n-grams and logistic regression trained with
  the model), when its probability reaches the threshold in ``data/safety/thresholds.yml``;
* the intent classifier's own certainty, which lets a certain small-talk intent outweigh a weak
  political score (never an emergency or a crisis).

Thresholds are set by cross-validation on the tuning sets ``data/safety_eval/``, never on the
held-out ``tests/safety/`` (``python -m bot safety calibrate``).

A word-list hit counts only if the classifier gives its class at least ``words_floor``
(``thresholds.yml``): on fresh messages the lists alone raised about 2 % false alarms.
Emergencies win over crises, crises over political questions. :func:`classify` says which class
fired, by which signal and on which words, for the parse data and so for the archive.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.config import PROJECT_ROOT
from bot.core.languages import LANGUAGES
from bot.safety.lexicon import Phrase, PhraseList, merge, normalise

SAFETY_DIR = PROJECT_ROOT / "data" / "safety"
#: The classes in the order they win, and the intent each one gives.
CLASSES = ("emergency", "crisis", "political")
INTENTS = {"emergency": "emergency", "crisis": "crisis_support", "political": "political_question"}
MODIFIERS = ("negation", "conditional", "past", "urgent")
#: How many words before a hit a condition ("viss", "om") still governs it.
CONDITION_REACH = 3


@dataclass
class ClassRules:
    """One class's phrases, combinations of named lists, and look-alike phrases."""

    phrases: PhraseList
    combinations: List[Tuple[PhraseList, ...]]
    unless: PhraseList
    #: Whether past/conditional markers switch the class off (emergencies happen now; a crisis
    #: told in the past tense is still a crisis).
    needs_present: bool


@dataclass
class Rules:
    """All classes' rules and the shared modifiers, merged over the languages."""

    classes: Dict[str, ClassRules]
    modifiers: Dict[str, PhraseList]
    thresholds: Dict[str, float]


@dataclass(frozen=True)
class Verdict:
    """What the safety layer decided about one message.

    Attributes:
        category: ``emergency``, ``crisis``, ``political`` or None.
        signal: ``words`` (a phrase or combination of the word lists), ``classifier`` or ``none``.
        evidence: the phrases that fired (as written in the lists), or the classifier's intent.
        blocked: hits that were switched off, and why (``negated``, ``conditional``, ``past``,
            ``lookalike``), for trainers reading the archive.
    """

    category: Optional[str]
    signal: str = "none"
    evidence: Tuple[str, ...] = ()
    blocked: Tuple[str, ...] = ()

    @property
    def intent(self) -> Optional[str]:
        """The intent the message gets, or None when the layer leaves the classifier's."""
        return INTENTS.get(self.category or "")

    def as_dict(self) -> Dict[str, Any]:
        """The verdict as it goes into the parse data (``safety``) and the archive."""
        return {"category": self.category, "signal": self.signal, "evidence": list(self.evidence),
                "blocked": list(self.blocked)}


def _read(path: Path) -> Mapping[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _class_rules(name: str, sections: Sequence[Mapping[str, Any]]) -> ClassRules:
    phrases = merge((PhraseList.parse(f"{name}.phrases", s.get("phrases")) for s in sections), name)
    unless = merge((PhraseList.parse(f"{name}.unless", s.get("unless")) for s in sections), f"{name}.unless")
    lists: Dict[str, List[PhraseList]] = {}
    combos: List[Tuple[str, ...]] = []
    for section in sections:
        for list_name, entries in (section.get("lists") or {}).items():
            lists.setdefault(list_name, []).append(PhraseList.parse(f"{name}.lists.{list_name}", entries))
        for combination in section.get("combinations") or []:
            combo = tuple(str(c) for c in combination)
            if combo not in combos:
                combos.append(combo)
    merged = {list_name: merge(parts, list_name) for list_name, parts in lists.items()}
    for combo in combos:
        unknown = [c for c in combo if c not in merged]
        if unknown:
            raise ValueError(f"{name}.combinations: {', '.join(unknown)} is not a list under {name}.lists")
    return ClassRules(phrases, [tuple(merged[c] for c in combo) for combo in combos], unless,
                      needs_present=name == "emergency")


@functools.lru_cache(maxsize=2)
def load_rules(directory: Optional[Path] = None) -> Rules:
    """Reads and compiles the word lists of every language (cached; call ``cache_clear`` after edits).

    Raises:
        ValueError: a list entry that is not a phrase, or a combination naming an unknown list.
    """
    directory = directory or SAFETY_DIR
    files = [_read(directory / f"{language}.yml") for language in LANGUAGES if (directory / f"{language}.yml").exists()]
    classes = {name: _class_rules(name, [f.get(name) or {} for f in files]) for name in CLASSES}
    modifiers = {
        name: merge((PhraseList.parse(name, (f.get("modifiers") or {}).get(name)) for f in files), name)
        for name in MODIFIERS
    }
    thresholds_file = directory / "thresholds.yml"
    thresholds = {k: float(v) for k, v in (_read(thresholds_file) if thresholds_file.exists() else {}).items()}
    return Rules(classes, modifiers, thresholds)


@dataclass
class _Context:
    tokens: List[str]
    urgent: bool
    past: bool
    negations: List[Tuple[int, int]] = field(default_factory=list)
    conditions: List[Tuple[int, int]] = field(default_factory=list)
    #: spans of each class's look-alike phrases, by id() of the class's rules
    lookalikes: Dict[int, List[Tuple[int, int]]] = field(default_factory=dict)


def _spans(phrase_list: PhraseList, tokens: Sequence[str]) -> List[Tuple[int, int]]:
    return phrase_list.spans(tokens)


#: A look-alike phrase switches off hits that overlap it or are at most this many words away.
LOOKALIKE_REACH = 2


def _why_off(phrase: Phrase, span: Tuple[int, int], rules: ClassRules, context: _Context,
             negation_words: PhraseList) -> Optional[str]:
    """Why a hit does not count, or None when it does."""
    start, end = span
    for l_start, l_end in context.lookalikes.get(id(rules), ()):
        # "hjelp!" or "akkurat no" next to a look-alike of an emergency still means now
        if l_start - LOOKALIKE_REACH < end and start < l_end + LOOKALIKE_REACH and not (
                rules.needs_present and context.urgent):
            return "lookalike"
    contains_negation = any(negation_words.first([w.text]) for w in phrase.words)
    if not contains_negation:
        for n_start, n_end in context.negations:
            # "det brenn ikkje", "ikkje brann", "ingen gasslukt": right next to the hit
            if n_end == start or n_start == end or (n_start == end + 1 and n_end <= end + 2):
                return "negated"
    if rules.needs_present and not context.urgent:
        if any(c_end <= start and start - c_end < CONDITION_REACH for _, c_end in context.conditions):
            return "conditional"
        if context.past:
            return "past"
    return None


def _class_hits(name: str, rules: ClassRules, context: _Context, negation_words: PhraseList,
                blocked: List[str]) -> List[str]:
    tokens = context.tokens
    context.lookalikes[id(rules)] = _spans(rules.unless, tokens) if rules.unless.phrases else []
    evidence = []
    for phrase, span in rules.phrases.find_all(tokens):
        reason = _why_off(phrase, span, rules, context, negation_words)
        if reason is None:
            evidence.append(phrase.source)
        else:
            blocked.append(f"{name}:{reason}:{phrase.source}")
    for combination in rules.combinations:
        parts = []
        for phrase_list in combination:
            hit = next((p for p, s in phrase_list.find_all(tokens)
                        if _why_off(p, s, rules, context, negation_words) is None), None)
            if hit is None:
                break
            parts.append(hit.source)
        else:
            evidence.append(" + ".join(parts))
    return evidence


def classify(text: str, intent: Optional[str] = None, confidence: float = 0.0,
             probabilities: Optional[Mapping[str, float]] = None, rules: Optional[Rules] = None) -> Verdict:
    """Decides whether a message is an emergency, a crisis or a political opinion question.

    Args:
        text: the citizen's message.
        intent: the intent classifier's top intent (before the layer), if any.
        confidence: the classifier's confidence in ``intent``.
        probabilities: the safety classifier's class probabilities (``bot.safety.classifier``).
        rules: the compiled word lists (default: :func:`load_rules`).

    Returns:
        The verdict; ``category`` None means the classifier's intent stands.
    """
    rules = rules or load_rules()
    tokens = normalise(text or "")
    modifiers = rules.modifiers
    context = _Context(
        tokens=tokens,
        urgent=modifiers["urgent"].first(tokens) is not None,
        past=modifiers["past"].first(tokens) is not None,
        negations=_spans(modifiers["negation"], tokens),
        conditions=_spans(modifiers["conditional"], tokens),
    )
    blocked: List[str] = []
    for name in CLASSES:
        evidence = _class_hits(name, rules.classes[name], context, modifiers["negation"], blocked)
        if evidence and not _classifier_disagrees(name, probabilities, rules.thresholds):
            return Verdict(name, "words", tuple(evidence), tuple(blocked))
        if evidence:
            blocked.append(f"{name}:classifier_disagrees:{' | '.join(evidence)}")
        if context.lookalikes.get(id(rules.classes[name])):
            blocked.append(f"{name}:lookalike")
    if probabilities:
        verdict = _by_probabilities(probabilities, rules.thresholds, blocked)
        if verdict is not None and _small_talk_outweighs(verdict, intent, confidence, probabilities, rules.thresholds):
            blocked.append(f"political:small_talk:{intent} {confidence:.2f}")
            verdict = None
        if verdict is not None:
            return verdict
    return Verdict(None, "none", (), tuple(blocked))


def _classifier_disagrees(name: str, probabilities: Optional[Mapping[str, float]],
                          thresholds: Mapping[str, float]) -> bool:
    """Whether the safety classifier gives a word-list hit's class less than ``words_floor``.

    Two measured signals that both must not be flatly against it: a phrase of the lists alone is
    not enough when the classifier, which reads the whole message, all but rules the class out.
    """
    floor = thresholds.get("words_floor")
    if not probabilities or floor is None:
        return False
    score = (probabilities.get("emergency", 0.0) + probabilities.get("crisis", 0.0)
             if name in ("emergency", "crisis") else probabilities.get(name, 0.0))
    return score < floor


#: Intents that are not about the municipality's business: the intent classifier's certainty
#: about them may outweigh a weak political score ("er du berre kode?", "kva synest du om kattar?").
SMALL_TALK = frozenset({"bot_challenge", "change_language", "greet", "thanks", "goodbye", "ask_opening_hours",
                        "ask_contact", "out_of_scope"})


def _small_talk_outweighs(verdict: Verdict, intent: Optional[str], confidence: float,
                          probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> bool:
    """Whether the intent classifier's certainty of small talk outweighs a weak political score.

    Only for political questions: emergencies and crises are never held back by the classifier.
    """
    if verdict.category != "political" or intent not in SMALL_TALK:
        return False
    return (confidence >= thresholds.get("small_talk_confidence", 1.01)
            and probabilities.get("political", 0.0) < thresholds.get("political_over_small_talk", 0.0))


def _by_probabilities(probabilities: Mapping[str, float], thresholds: Mapping[str, float],
                      blocked: List[str]) -> Optional[Verdict]:
    """The safety classifier's verdict: emergency and crisis together first (both give numbers)."""
    emergency, crisis = probabilities.get("emergency", 0.0), probabilities.get("crisis", 0.0)
    if emergency + crisis >= thresholds.get("urgent", 0.5):
        name = "emergency" if emergency >= crisis else "crisis"
        return Verdict(name, "classifier", (f"{name} {max(emergency, crisis):.2f}",), tuple(blocked))
    political = probabilities.get("political", 0.0)
    if political >= thresholds.get("political", 0.5):
        return Verdict("political", "classifier", (f"political {political:.2f}",), tuple(blocked))
    return None

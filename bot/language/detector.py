"""Language identification for Nynorsk (``nn``), Bokmål (``nb``) and Swedish (``sv``).

``detect`` combines two sources of evidence in log-odds space:

* lingua (``lingua-language-detector``), restricted to the three languages: character
  n-gram models, good at Swedish against Norwegian, weaker at Nynorsk against Bokmål,
  especially on short messages;
* marker words, word endings and letters from ``markers.yml`` (written by hand from the
  two Norwegian written standards and Swedish): forms such as ``ikkje``/``ikke``/``inte``,
  ``-leg``/``-lig``, ``-ar``/``-er`` plurals and present tense, ``-heit``/``-het``, ``æ ø``
  against ``ä ö``.

``score[lang] = LINGUA_WEIGHT * ln(p_lingua[lang]) + markers[lang] + PRIOR[lang]``, turned
into probabilities with a softmax. A detection is *strong* (enough to switch a running
conversation's language) when the best language leads the runner-up by
``STRONG_MARGIN`` and the message has at least two words.

Neither lingua nor the marker file is loaded at import time: both are built once, on first
use, under a lock (``warm_up()`` does it ahead of time).
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.languages import LANGUAGES  # the languages this module tells apart (ISO 639-1)

NEUTRAL_LANGUAGE = "nb"
"""Reported for text without any letters (empty, digits, emoji); such a detection is never strong."""

DATA_FILE = Path(__file__).with_name("markers.yml")

# Combination of the evidence (natural-log units). Chosen on development text only: the
# hand-written dev_sentences.tsv, the municipal excerpts, NorSID dev and SweFAQ dev in
# shared/benchmarks, and the nn/nb/sv gettext catalogues of Debian packages; never on the UD
# test file. Accuracy is flat for LINGUA_WEIGHT between 0.5 and 1.7.
LINGUA_WEIGHT = 1.0
LINGUA_FLOOR = 1e-4  # lingua probabilities are clipped here so one source can't veto the other
PRIOR: Mapping[str, float] = {"nn": 0.0, "nb": 0.0, "sv": 0.0}
STRONG_MARGIN = 3.0  # log-odds lead over the runner-up for a strong detection (~95 %)
STRONG_MIN_WORDS = 2

_TOKEN = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Detection:
    """The result of ``detect``.

    Attributes:
        language: the most likely language, one of ``LANGUAGES``.
        confidence: its probability, 0..1 (``scores[language]``).
        scores: probability of each language in ``LANGUAGES`` (they sum to 1).
        strong: whether the evidence is strong enough to switch a conversation's language.
    """

    language: str
    confidence: float
    scores: Dict[str, float] = field(hash=False)
    strong: bool


# --------------------------------------------------------------------------------------
# Lazily built resources


_lock = threading.Lock()
_lingua_detector: Any = None
_markers: Optional["_Markers"] = None


def _lingua() -> Any:
    """The lingua detector restricted to nn/nb/sv, built once (thread-safe)."""
    global _lingua_detector
    detector = _lingua_detector
    if detector is None:
        with _lock:
            if _lingua_detector is None:
                from lingua import Language, LanguageDetectorBuilder

                _lingua_detector = (
                    LanguageDetectorBuilder.from_languages(Language.NYNORSK, Language.BOKMAL, Language.SWEDISH)
                    .with_preloaded_language_models()
                    .build()
                )
            detector = _lingua_detector
    return detector


_LINGUA_CODES: Dict[str, str] = {"NYNORSK": "nn", "BOKMAL": "nb", "SWEDISH": "sv"}


def lingua_scores(text: str) -> Dict[str, float]:
    """Plain lingua's probabilities for nn/nb/sv (all 0 when lingua finds nothing to judge)."""
    values = {lang: 0.0 for lang in LANGUAGES}
    for value in _lingua().compute_language_confidence_values(text):
        values[_LINGUA_CODES[value.language.name]] = float(value.value)
    return values


def warm_up() -> None:
    """Builds lingua and reads the marker file now rather than on the first message."""
    _lingua()
    _load_markers()


# --------------------------------------------------------------------------------------
# Marker file


@dataclass(frozen=True)
class _Affix:
    text: str
    min_length: int
    weights: Tuple[Tuple[str, float], ...]
    exceptions: FrozenSet[str]


@dataclass(frozen=True)
class _Markers:
    words: Mapping[str, Tuple[Tuple[str, float], ...]]
    names: FrozenSet[str]  # words that count even when capitalised inside a sentence
    suffixes: Tuple[_Affix, ...]  # longest first
    prefixes: Tuple[_Affix, ...]
    letters: Mapping[str, Tuple[Tuple[str, float], ...]]
    requests: Mapping[str, Any]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def _weights(raw: Mapping[str, Any], named: Mapping[str, float]) -> Dict[str, float]:
    """{"nn": "strong", "norwegian": 1.2} -> {"nn": 3.0, "nb": 1.2} ("norwegian" = nn and nb)."""
    out: Dict[str, float] = {}
    for target, weight in raw.items():
        value = float(named[weight]) if isinstance(weight, str) else float(weight)
        for lang in ("nn", "nb") if target == "norwegian" else (target,):
            if lang not in LANGUAGES:
                raise ValueError(f"{DATA_FILE.name}: unknown language {target!r}")
            out[lang] = out.get(lang, 0.0) + value
    return out


def _parse_markers(data: Mapping[str, Any]) -> _Markers:
    named = {name: float(value) for name, value in data["weights"].items()}
    words: Dict[str, Dict[str, float]] = {}
    names = frozenset(
        _normalise(str(word)) for groups in data.get("names", {}).values() for entries in groups.values() for word in entries
    )
    for target, groups in [*data["words"].items(), *data.get("names", {}).items()]:
        for strength, entries in groups.items():
            for word in entries:
                if not isinstance(word, str):
                    raise ValueError(f"{DATA_FILE.name}: {target}/{strength}: quote {word!r} (YAML read it as {type(word).__name__})")
                for lang, value in _weights({target: strength}, named).items():
                    slot = words.setdefault(_normalise(str(word)), {})
                    slot[lang] = slot.get(lang, 0.0) + value
    suffixes: List[_Affix] = []
    prefixes: List[_Affix] = []
    for rule in data.get("suffixes", []):
        affix = _Affix(
            text=_normalise(rule.get("ending") or rule["prefix"]),
            min_length=int(rule.get("min_length", 0)),
            weights=tuple(_weights(rule["weights"], named).items()),
            exceptions=frozenset(_normalise(str(w)) for w in rule.get("except", [])),
        )
        (suffixes if "ending" in rule else prefixes).append(affix)
    suffixes.sort(key=lambda affix: -len(affix.text))
    letters = {
        _normalise(letter): tuple(_weights(weights, named).items()) for letter, weights in data.get("letters", {}).items()
    }
    return _Markers(
        words={word: tuple(weights.items()) for word, weights in words.items()},
        names=names,
        suffixes=tuple(suffixes),
        prefixes=tuple(prefixes),
        letters=letters,
        requests=_parse_requests(data.get("requests", {})),
    )


def _load_markers() -> _Markers:
    global _markers
    markers = _markers
    if markers is None:
        with _lock:
            if _markers is None:
                with DATA_FILE.open(encoding="utf-8") as handle:
                    _markers = _parse_markers(yaml.safe_load(handle))
            markers = _markers
    return markers


def _tokens(text: str) -> List[str]:
    return _TOKEN.findall(_normalise(text))


_SENTENCE_START = frozenset(".!?:;•·*\"«»“”„([-–—>\n")


def _marker_tokens(text: str) -> List[str]:
    """Lower-cased words of ``text`` without capitalised words inside a sentence.

    Norwegian and Swedish capitalise only names there, and names ("Gunnar", "Anna",
    "Oscar") would otherwise fire marker endings and words.
    """
    text = unicodedata.normalize("NFC", text)
    names = _load_markers().names
    out: List[str] = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        lower = word.lower()
        if word[0].isupper() and not word.isupper() and match.start() > 0 and lower not in names:
            before = text[: match.start()].rstrip()
            if before and before[-1] not in _SENTENCE_START:
                continue
        out.append(lower)
    return out


def marker_scores(tokens: Sequence[str]) -> Dict[str, float]:
    """Summed marker evidence per language for already tokenised, lower-cased words."""
    markers = _load_markers()
    totals = {lang: 0.0 for lang in LANGUAGES}
    words, suffixes, prefixes, letters = markers.words, markers.suffixes, markers.prefixes, markers.letters
    for token in tokens:
        hit = words.get(token)
        if hit is None:
            length = len(token)
            for affix in suffixes:
                if length >= affix.min_length and token.endswith(affix.text) and token not in affix.exceptions:
                    hit = affix.weights
                    break
            for affix in prefixes:
                if length >= affix.min_length and token.startswith(affix.text) and token not in affix.exceptions:
                    for lang, value in affix.weights:
                        totals[lang] += value
                    break
        if hit:
            for lang, value in hit:
                totals[lang] += value
        for letter, weights in letters.items():
            if letter in token:
                for lang, value in weights:
                    totals[lang] += value
    return totals


# --------------------------------------------------------------------------------------
# detect


def _neutral() -> Detection:
    share = 1.0 / len(LANGUAGES)
    return Detection(NEUTRAL_LANGUAGE, share, {lang: share for lang in LANGUAGES}, False)


def detect(text: str) -> Detection:
    """Detects whether ``text`` is Nynorsk, Bokmål or Swedish.

    Never raises on odd input: text without letters (empty, whitespace, digits, emoji,
    control characters) gives a uniform, not-strong detection of ``NEUTRAL_LANGUAGE``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    # The name of a language says what the writer wants, not what they write in:
    # "skulle du kunna svara på nynorska" is Swedish. Judge the rest of the message.
    text = _without_language_names(text)
    tokens = _tokens(text)
    if not tokens:
        return _neutral()
    lingua = lingua_scores(text) if _has_enough_letters(tokens) else {}
    markers = marker_scores(_marker_tokens(text))
    raw = {}
    for lang in LANGUAGES:
        probability = lingua.get(lang, 0.0) if lingua and any(lingua.values()) else 1.0 / len(LANGUAGES)
        raw[lang] = LINGUA_WEIGHT * math.log(max(probability, LINGUA_FLOOR)) + markers[lang] + PRIOR[lang]
    ranked = sorted(LANGUAGES, key=lambda lang: raw[lang], reverse=True)
    best, runner_up = ranked[0], ranked[1]
    top = raw[best]
    exp = {lang: math.exp(raw[lang] - top) for lang in LANGUAGES}
    total = sum(exp.values())
    scores = {lang: exp[lang] / total for lang in LANGUAGES}
    strong = len(tokens) >= STRONG_MIN_WORDS and raw[best] - raw[runner_up] >= STRONG_MARGIN
    return Detection(best, scores[best], scores, strong)


def _language_name_words() -> FrozenSet[str]:
    return frozenset(
        word for words, _lang in _load_markers().requests["names"] if len(words) == 1 for word in words
    )


def _without_language_names(text: str) -> str:
    names = _language_name_words()
    return _TOKEN.sub(lambda m: " " if _normalise(m.group()) in names else m.group(), text)


def _has_enough_letters(tokens: Sequence[str]) -> bool:
    return sum(len(token) for token in tokens) >= 2


# --------------------------------------------------------------------------------------
# requested_language


def _parse_requests(raw: Mapping[str, Any]) -> Dict[str, Any]:
    def words(key: str) -> FrozenSet[str]:
        return frozenset(_normalise(str(w)) for w in raw.get(key, []) if " " not in str(w))

    names: List[Tuple[Tuple[str, ...], str]] = []
    for lang, entries in raw.get("languages", {}).items():
        for entry in entries:
            names.append((tuple(_TOKEN.findall(_normalise(str(entry)))), lang))
    names.sort(key=lambda item: -len(item[0]))  # "norsk nynorsk" before "norsk"
    phrases = [tuple(_TOKEN.findall(_normalise(str(w)))) for w in raw.get("fillers", []) if " " in str(w)]
    return {
        "names": tuple(names),
        "verbs": words("verbs"),
        "modals": words("modals"),
        "addressees": words("addressees"),
        "wishes": words("wishes"),
        "fillers": words("fillers"),
        "blockers": words("blockers"),
        "phrases": tuple(sorted(phrases, key=len, reverse=True)),
    }


_YOU = frozenset({"du", "ni", "de", "dere", "dykk", "you", "u"})
_MAX_GAP = 8  # words between the request cue and the language name
_MAX_CONTENT = 2  # words between them that are neither fillers nor request words


def requested_language(text: str) -> Optional[str]:
    """The language the message explicitly asks the assistant to use, or None.

    A language name ("nynorsk", "bokmål", "norsk", "svenska", "swedish", ...) counts only
    when the message asks for it: it is the whole message give or take politeness and
    prepositions ("på svenska tack", "in swedish please", "nynorsk?"), or a request cue
    comes before it (an imperative "skriv/svar/byt/speak ...", a question to the assistant
    "kan du snakke ...", "can you ...", or a wish "eg vil ha ...", "jag vill ...") with
    little else between. Mentions in passing ("eg les nynorsk på skulen") give None.
    "norsk"/"norska"/"norwegian" mean Bokmål.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    rules = _load_markers().requests
    tokens = _tokens(text)
    if not tokens:
        return None
    tokens = _drop_phrases(tokens, rules["phrases"])
    mentions = _language_mentions(tokens, rules["names"])
    if not mentions:
        return None
    request_words = rules["verbs"] | rules["modals"] | rules["addressees"] | rules["wishes"] | rules["fillers"]
    mentioned = set()
    for start, end, _ in mentions:
        mentioned.update(range(start, end))
    found: Optional[str] = None
    for start, end, lang in mentions:
        if _negated(tokens, start):
            continue
        others = [t for i, t in enumerate(tokens) if i not in mentioned]
        if all(t in request_words for t in others) and not any(t in rules["blockers"] for t in others):
            found = lang
            continue
        cue = _request_cue(tokens, start, rules)
        if cue is None:
            continue
        between = tokens[cue + 1 : start]
        if len(between) > _MAX_GAP or any(t in rules["blockers"] for t in between):
            continue
        content = [t for i, t in enumerate(between, cue + 1) if t not in request_words and i not in mentioned]
        if len(content) <= _MAX_CONTENT:
            found = lang
    return found


_NEGATIONS = frozenset({"ikkje", "ikke", "inte", "not", "aldri", "never", "without", "utan", "uten"})
_PREPOSITIONS = frozenset({"på", "paa", "i", "in", "on", "til", "till", "to", "into", "ha", "have", "for", "för", "of"})


_INSTEAD = frozenset({"stedet", "staden", "istedenfor", "istadenfor", "istedet", "istaden", "instead", "istället",
                      "stället", "enn", "än", "than", "rather"})


def _negated(tokens: Sequence[str], start: int) -> bool:
    """The language name is refused or replaced: "ikkje (på) nynorsk", "not (in) Swedish",
    "i staden for nynorsk", "instead of Swedish", "heller enn bokmål"."""
    i = start - 1
    while i >= 0 and tokens[i] in _PREPOSITIONS:
        i -= 1
    if i >= 0 and tokens[i] in _NEGATIONS and i >= start - 2:
        return True
    return any(token in _INSTEAD for token in tokens[max(0, start - 3) : start])


def _drop_phrases(tokens: List[str], phrases: Sequence[Tuple[str, ...]]) -> List[str]:
    if not phrases:
        return tokens
    out: List[str] = []
    i = 0
    while i < len(tokens):
        for phrase in phrases:
            if phrase and tuple(tokens[i : i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _language_mentions(tokens: Sequence[str], names: Sequence[Tuple[Tuple[str, ...], str]]) -> List[Tuple[int, int, str]]:
    mentions: List[Tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        for name, lang in names:
            if name and tuple(tokens[i : i + len(name)]) == name:
                mentions.append((i, i + len(name), lang))
                i += len(name)
                break
        else:
            i += 1
    return mentions


def _request_cue(tokens: Sequence[str], before: int, rules: Mapping[str, Any]) -> Optional[int]:
    """Index of the last request cue before position ``before``, or None.

    Cues: a request verb that opens the message (after fillers such as "hei", "ok",
    "please"); a modal followed by an addressee ("kan du", "could you", "kan eg få");
    a first-person wish ("eg vil", "jag vill", "i would like").
    """
    verbs, modals, wishes, fillers = rules["verbs"], rules["modals"], rules["wishes"], rules["fillers"]
    addressees = rules["addressees"]
    cue: Optional[int] = None
    first = next((i for i, t in enumerate(tokens) if t not in fillers or t in verbs), None)
    if first is not None and first < before and tokens[first] in verbs:
        cue = first
    for i in range(before):
        token = tokens[i]
        window = tokens[i + 1 : min(before, i + 3)]
        if token in modals or token in ("do", "does", "would", "could"):
            if any(t in addressees for t in window):
                cue = i
        elif token in addressees and token not in _YOU:
            if any(t in wishes for t in window):
                cue = i
    return cue


# --------------------------------------------------------------------------------------
# resolve_language


def resolve_language(
    current: Optional[str],
    detection: Detection,
    requested: Optional[str],
    default: str,
    offered: Sequence[str],
) -> str:
    """The conversation's language after a message.

    An explicit request for an offered language wins; otherwise the conversation keeps
    ``current`` (``default`` when there is none yet) unless the detection is strong and its
    language is offered. The result is always one of ``offered`` (falling back to
    ``default``, or to the first offered language if ``default`` itself is not offered).
    """
    offered = tuple(offered)
    fallback = default if default in offered or not offered else offered[0]
    if requested is not None and requested in offered:
        return requested
    if detection is not None and detection.strong and detection.language in offered:
        return detection.language
    if current is not None and current in offered:
        return current
    return fallback

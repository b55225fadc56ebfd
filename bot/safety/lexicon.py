"""Trainer-editable word lists of the safety layer, compiled for fast, typo-tolerant matching.

The lists live in ``data/safety/<lang>.yml`` (the file's header explains the notation to
trainers). A *phrase* is one or more word specifications in order, with at most
:data:`MAX_GAP` other words between two of them:

* ``bevisstlaus`` matches that word, and, for words of :data:`TYPO_MIN_LENGTH` letters or more,
  also the word with one letter wrong, missing, added or two letters swapped ("bevistlaus");
  shorter words must be exact, since one letter turns them into other words (skolen/skoten);
* ``=ras`` matches the word exactly (for short words where one typo makes another word);
* ``brenn*`` a word that starts with ``brenn``; ``*brann`` one that ends with it (compounds such
  as "kjøkkenbrann"); ``*mordstank*`` one that contains it.

Messages and phrases are normalised the same way (:func:`normalise`): lower case, accents that
people leave out or swap folded (é→e; ä and æ, ö and ø as one letter), doubled letters written
once ("hjelpppp", "gaslukt" and "gasslukt" all alike), punctuation removed.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

#: Words this long or longer tolerate one typo.
TYPO_MIN_LENGTH = 7
#: Other words allowed between two words of a phrase.
MAX_GAP = 2
#: Letters of a prefix or suffix the index keys on.
AFFIX = 3

_WORD = re.compile(r"[0-9a-zæøåäöüéèáàóòúíïšžđ]+")
_REPEATS = re.compile(r"(.)\1+")
# Letters people type without their accent or with a neighbour's; æ/ä and ø/ö are the same
# letter in Norwegian and Swedish keyboards' eyes, so they are folded together.
_FOLD = str.maketrans({"é": "e", "è": "e", "ê": "e", "á": "a", "à": "a", "ó": "o", "ò": "o", "ô": "o",
                       "ú": "u", "í": "i", "ï": "i", "ü": "y", "ä": "æ", "ö": "ø"})


def normalise(text: str) -> List[str]:
    """Returns the words of ``text`` as the matcher sees them."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    text = _REPEATS.sub(r"\1", text)
    return _WORD.findall(text)


def _deletions(word: str) -> Set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@functools.lru_cache(maxsize=65536)
def _lookup_keys(token: str) -> frozenset:
    """The index keys a message word can meet: itself and, if long enough, itself less a letter."""
    return frozenset({token} | (_deletions(token) if len(token) >= TYPO_MIN_LENGTH - 1 else set()))


@dataclass(frozen=True)
class WordSpec:
    """One word of a phrase: exact (with or without typos), prefix, suffix or infix."""

    text: str
    kind: str  # "word", "exact", "prefix", "suffix", "infix"

    @classmethod
    def parse(cls, spec: str) -> "WordSpec":
        """Reads one word of the notation in the module docstring."""
        if spec.startswith("="):
            return cls(_single(spec[1:]), "exact")
        starts, ends = spec.startswith("*"), spec.endswith("*")
        core = _single(spec.strip("*"))
        if starts and ends:
            return cls(core, "infix")
        if starts:
            return cls(core, "suffix")
        if ends:
            return cls(core, "prefix")
        return cls(core, "word" if len(core) >= TYPO_MIN_LENGTH else "exact")

    def matches(self, token: str, token_deletions: Optional[Set[str]] = None) -> bool:
        """Whether a normalised message word matches this specification."""
        if self.kind == "exact":
            return token == self.text
        if self.kind == "prefix":
            return token.startswith(self.text)
        if self.kind == "suffix":
            return token.endswith(self.text)
        if self.kind == "infix":
            return self.text in token
        if token == self.text:
            return True
        if abs(len(token) - len(self.text)) > 1 or len(token) < TYPO_MIN_LENGTH - 1:
            return False
        return _within_one_edit(token, self.text)


def _single(text: str) -> str:
    words = normalise(text)
    if len(words) != 1:
        raise ValueError(f"{text!r} is not one word")
    return words[0]


def _within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most one (one substitution, insertion, deletion or swap)."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if len(a) < len(b):
        a, b = b, a
    return b in _deletions(a)


@dataclass(frozen=True)
class Phrase:
    """Words in order with at most :data:`MAX_GAP` others between them; ``source`` as written."""

    source: str
    words: Tuple[WordSpec, ...]

    @classmethod
    def parse(cls, source: str) -> "Phrase":
        """Reads a phrase of the notation in the module docstring."""
        parts = source.split()
        if not parts:
            raise ValueError("an empty phrase")
        return cls(source, tuple(WordSpec.parse(p) for p in parts))

    def find(self, tokens: Sequence[str]) -> Optional[Tuple[int, int]]:
        """Returns the first (start, end) span of tokens that this phrase matches, or None."""
        first = self.words[0]
        for start, token in enumerate(tokens):
            if not first.matches(token):
                continue
            position, ok = start, True
            for spec in self.words[1:]:
                for candidate in range(position + 1, min(len(tokens), position + 2 + MAX_GAP)):
                    if spec.matches(tokens[candidate]):
                        position = candidate
                        break
                else:
                    ok = False
                    break
            if ok:
                return start, position + 1
        return None


class PhraseList:
    """A named list of phrases, matched against a message's words.

    Phrases are indexed by their first word (and, for typo-tolerant words, by the word with one
    letter left out), so that a message is compared only with the phrases that can start in it.
    """

    def __init__(self, name: str, phrases: Optional[List[Phrase]] = None) -> None:
        self.name = name
        self.phrases: List[Phrase] = []
        self._index: Dict[str, List[Phrase]] = {}
        self._prefixes: Dict[str, List[Phrase]] = {}  # by the first AFFIX letters of a prefix
        self._suffixes: Dict[str, List[Phrase]] = {}  # by the last AFFIX letters of a suffix
        self._linear: List[Phrase] = []
        for phrase in phrases or []:
            self.add(phrase)

    def add(self, phrase: Phrase) -> None:
        """Adds a compiled phrase to the list and its index."""
        self.phrases.append(phrase)
        first = phrase.words[0]
        if first.kind == "exact":
            keys = {first.text}
        elif first.kind == "word":
            keys = {first.text} | _deletions(first.text)
        elif first.kind == "prefix" and len(first.text) >= AFFIX:
            self._prefixes.setdefault(first.text[:AFFIX], []).append(phrase)
            return
        elif first.kind == "suffix" and len(first.text) >= AFFIX:
            self._suffixes.setdefault(first.text[-AFFIX:], []).append(phrase)
            return
        else:
            self._linear.append(phrase)
            return
        for key in keys:
            self._index.setdefault(key, []).append(phrase)

    @classmethod
    def parse(cls, name: str, sources: Iterable[str]) -> "PhraseList":
        """Compiles a list of phrase strings; raises ValueError naming the bad entry."""
        phrase_list = cls(name)
        for source in sources or []:
            try:
                phrase_list.add(Phrase.parse(str(source)))
            except ValueError as error:
                raise ValueError(f"{name}: {source!r}: {error}") from error
        return phrase_list

    def _candidates(self, tokens: Sequence[str]) -> List[Phrase]:
        seen: Dict[int, Phrase] = {}
        for token in set(tokens):
            for key in _lookup_keys(token):
                for phrase in self._index.get(key, ()):
                    seen[id(phrase)] = phrase
            for phrase in self._prefixes.get(token[:AFFIX], ()):
                seen[id(phrase)] = phrase
            for phrase in self._suffixes.get(token[-AFFIX:], ()):
                seen[id(phrase)] = phrase
        return list(seen.values()) + self._linear

    def spans(self, tokens: Sequence[str]) -> List[Tuple[int, int]]:
        """Every occurrence of every phrase of the list, as (start, end) spans."""
        found = []
        for phrase in self._candidates(tokens):
            offset = 0
            span = phrase.find(tokens)
            while span is not None:
                found.append((span[0] + offset, span[1] + offset))
                offset += span[1]
                span = phrase.find(tokens[offset:])
        return found

    def find_all(self, tokens: Sequence[str]) -> List[Tuple[Phrase, Tuple[int, int]]]:
        """Every phrase of the list that occurs, with its first span."""
        hits = []
        for phrase in self._candidates(tokens):
            span = phrase.find(tokens)
            if span is not None:
                hits.append((phrase, span))
        return hits

    def first(self, tokens: Sequence[str]) -> Optional[Tuple[Phrase, Tuple[int, int]]]:
        """The first phrase of the list that occurs, or None."""
        hits = self.find_all(tokens)
        return hits[0] if hits else None


def merge(lists: Iterable[PhraseList], name: str) -> PhraseList:
    """One list holding the phrases of several (e.g. the same list in all three languages)."""
    merged = PhraseList(name)
    seen: Set[str] = set()
    for phrase_list in lists:
        for phrase in phrase_list.phrases:
            if phrase.source not in seen:
                seen.add(phrase.source)
                merged.add(phrase)
    return merged

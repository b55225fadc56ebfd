"""Splitting page sections into sentences and passages.

Passages are what the assistant searches and quotes: a few complete sentences under one heading.

Sentences come from a regex splitter with an abbreviation guard. spaCy's rule-based sentencizer
(blank pipeline, nothing to download) was measured against it on gold boundaries from the UD test
treebanks (``make bench-sentences``): boundary F1 0.858 for spaCy, 0.898 for the regex, which is
also about fifty times faster, so the regex is used and spaCy stays in the benchmark.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable, List, Optional

from bot.content.pages import ParsedPage

# spaCy has Bokmål and Swedish tokenisers; its Bokmål rules serve Nynorsk too.
SPACY_LANGUAGE = {"nn": "nb", "nb": "nb", "sv": "sv"}
MAX_PASSAGE_CHARS = 420
MAX_PASSAGE_SENTENCES = 4
MAX_LIST_LINES = 10

_REGEX_BOUNDARY = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=[\"«„(]*[A-ZÆØÅÄÖÉ0-9])")
# Abbreviations after which a period does not end the sentence ("kl. 08.00", "ca. 30", "tlf. 57 ...").
_ABBREVIATIONS = frozenset(
    "kl ca nr tlf tel bl.a f.eks t.d t.ex mv m.m osv o.s.v jf jfr dvs d.v.s pga p.g.a evt ev inkl ekskl "
    "st kap pkt mfl m.fl s fr.o.m t.o.m resp bla dr prof o.l o.a ang vedr mht m.h.t fv rv ev e kv nb obs".split()
)


@dataclass
class Passage:
    """A few sentences under one heading of a page."""

    position: int
    heading: Optional[str]
    sentences: List[str]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def split_sentences_regex(text: str) -> List[str]:
    """Splits after . ! ? before a capital letter or digit, but not after an abbreviation."""
    sentences: List[str] = []
    for piece in _REGEX_BOUNDARY.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if sentences:
            last_word = sentences[-1].rsplit(None, 1)[-1].lower().rstrip(".").lstrip("(«\"")
            if sentences[-1].endswith(".") and last_word in _ABBREVIATIONS:
                sentences[-1] = f"{sentences[-1]} {piece}"
                continue
        sentences.append(piece)
    return sentences


@functools.lru_cache(maxsize=4)
def _spacy(language: str):
    import spacy

    nlp = spacy.blank(SPACY_LANGUAGE.get(language, "nb"))
    nlp.add_pipe("sentencizer")
    return nlp


def split_sentences_spacy(text: str, language: str) -> List[str]:
    """Splits with spaCy's sentencizer, which knows abbreviations such as "kl.", "tlf.", "bl.a."."""
    return [s.text.strip() for s in _spacy(language)(text).sents if s.text.strip()]


def split_sentences(text: str, language: str) -> List[str]:
    """Splits a block of text into sentences (the regex splitter; see the module docstring)."""
    return split_sentences_regex(text)


def _chunks(lines: List[List[str]], limit: int, most: int) -> List[List[str]]:
    """Sentences of one unit (``lines``: each line's sentences) in pieces of at most ``limit``
    characters; a long list repeats its lead sentence at the start of every piece."""
    flat = [sentence for line in lines for sentence in line]
    if len(" ".join(flat)) <= limit and len(flat) <= most:
        return [flat]
    lead = lines[0] if len(lines) > 1 and lines[0] and lines[0][-1].endswith(":") else []
    body = [sentence for line in (lines[1:] if lead else lines) for sentence in line]
    pieces: List[List[str]] = []
    current: List[str] = list(lead)
    for sentence in body:
        if len(current) > len(lead) and (len(" ".join(current)) + 1 + len(sentence) > limit or len(current) >= most):
            pieces.append(current)
            current = list(lead)
        current.append(sentence)
    if len(current) > len(lead) or not pieces:
        pieces.append(current)
    return pieces


def passages_of(page: ParsedPage, split: Optional[Callable[[str, str], List[str]]] = None) -> List[Passage]:
    """Cuts a page into passages: consecutive units of one section (paragraphs, a list with its
    lead sentence, table rows), a few sentences at a time, never splitting a unit that fits.

    Args:
        page: the parsed page.
        split: the sentence splitter (default :func:`split_sentences`).

    Returns:
        Passages in page order.
    """
    split = split or split_sentences
    passages: List[Passage] = []
    for section in page.sections:
        current: List[str] = []
        for unit in section.units:
            lines = [split(line, page.language) for line in unit]
            # A list keeps its items together: it may have more lines than a passage of prose.
            most = MAX_PASSAGE_SENTENCES if len(unit) == 1 else MAX_LIST_LINES
            for piece in _chunks(lines, MAX_PASSAGE_CHARS, most):
                if current and (
                    len(" ".join(current)) + 1 + len(" ".join(piece)) > MAX_PASSAGE_CHARS
                    or len(current) + len(piece) > max(MAX_PASSAGE_SENTENCES, most)
                ):
                    passages.append(Passage(len(passages), section.heading, current))
                    current = []
                current.extend(piece)
        if current:
            passages.append(Passage(len(passages), section.heading, current))
    return passages

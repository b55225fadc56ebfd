"""Checking question files against the pages: does every gold answer exist where it is said to be?

A gold answer is the text a citizen must see for the question to count as answered: a sentence,
part of one, or a table row, copied from the page. It must occur (ignoring case and spacing) in
one passage of the page the question names, since the assistant quotes passages. Run::

    python -m bot content check-questions tests/content/answers/saltvika.yml

to list the questions whose gold answer is not on their page.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.core.config import PROJECT_ROOT
from bot.content.pages import PageError, parse_page
from bot.content.passages import passages_of

WEBSITES = PROJECT_ROOT / "data" / "website"
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """Lower case with every run of white space as one space (how gold answers are compared)."""
    return _SPACE.sub(" ", (text or "").replace("\u00a0", " ")).strip().lower()


def contains_gold(shown: Optional[str], gold: object) -> bool:
    """Whether the text shown contains the gold answer (a string, or a list of which any counts)."""
    if not shown or not gold:
        return False
    golds = gold if isinstance(gold, (list, tuple)) else [gold]
    text = normalised(shown)
    return any(normalised(str(g)) in text for g in golds)


def page_passages(folder: Path) -> Dict[str, List[str]]:
    """The passage texts of every saved page in ``folder``, by the page's address."""
    found: Dict[str, List[str]] = {}
    for file in sorted(folder.rglob("*.htm*")):
        try:
            page = parse_page(file.read_bytes(), "/" + file.relative_to(folder).as_posix())
        except PageError:
            continue
        found[page.url] = [passage.text for passage in passages_of(page)]
    return found


def problems(path: Path, folder: Optional[Path] = None) -> List[Tuple[str, str]]:
    """``(question, why)`` for every answerable question whose gold answer is missing or not
    inside one passage of its page.

    Args:
        path: a question file with ``answerable: [{question, url, gold}]``.
        folder: the saved website (default ``data/website/<municipality>``, the municipality
            being the question's ``municipality`` or else the file's name).
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a question file (a mapping with 'answerable' and 'unanswerable')")
    sites: Dict[Path, Dict[str, List[str]]] = {}
    found: List[Tuple[str, str]] = []
    for item in data.get("answerable") or []:
        question, url, gold = item.get("question"), item.get("url"), item.get("gold")
        # A file of questions over several sites names each question's municipality.
        site = folder or WEBSITES / (item.get("municipality") or path.stem)
        if site not in sites:
            sites[site] = page_passages(site)
        passages = sites[site]
        if not gold:
            found.append((question, "no gold answer"))
        elif url not in passages:
            found.append((question, f"no page {url}"))
        elif not any(contains_gold(text, gold) for text in passages[url]):
            found.append((question, f"gold answer not in one passage of the page: {gold!r}"))
    return found

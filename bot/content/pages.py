"""Reading one web page: its address, title, language, date and main text by section.

The main text comes from trafilatura, which drops menus, footers and cookie banners; the page's
own metadata (canonical link, ``lang`` attribute, modification date) comes from its ``<head>``.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import FrozenSet, List, Optional

import yaml
from lxml import etree, html as lxml_html

from bot.core.config import PROJECT_ROOT
from bot.language.detector import detect

LANGUAGE_TAGS = {"nn": "nn", "nb": "nb", "no": "nb", "sv": "sv", "se": "sv"}
MAX_PAGE_BYTES = 5 * 1024 * 1024
# Below this, what the extractor found is a menu or a stub, not an answer to anything.
MIN_MAIN_TEXT_CHARS = 40


class PageError(ValueError):
    """A page that cannot be used (empty, not HTML, no main text)."""


@dataclass
class Section:
    """The text under one heading, in order, as units that belong together.

    Each unit is a list of lines: a paragraph is one line; a list is its lead sentence (the
    paragraph before it that ends with a colon) and its items; a table row is one line that
    carries its column headers ("Full plass: 2 000 kr per månad"). Passages never split a unit
    unless it is too long to quote, and then they repeat its lead line.
    """

    heading: Optional[str]
    units: List[List[str]] = field(default_factory=list)

    @property
    def blocks(self) -> List[str]:
        """Every line of the section, in order."""
        return [line for unit in self.units for line in unit]


@dataclass
class ParsedPage:
    """What the assistant keeps of a web page."""

    url: str
    title: str
    language: str
    modified_at: Optional[datetime]
    sections: List[Section]

    @property
    def headings(self) -> List[str]:
        return [s.heading for s in self.sections if s.heading]

    @property
    def text(self) -> str:
        parts: List[str] = []
        for section in self.sections:
            if section.heading:
                parts.append(section.heading)
            parts.extend(section.blocks)
        return "\n".join(parts)


def _clean(text: Optional[str]) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _language(tag: Optional[str]) -> Optional[str]:
    if not tag:
        return None
    return LANGUAGE_TAGS.get(tag.strip().lower().replace("_", "-").split("-")[0])


def _date(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _head_metadata(document: str):
    tree = lxml_html.fromstring(document)
    html_lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")

    def first(xpath: str) -> Optional[str]:
        found = tree.xpath(xpath)
        return found[0].strip() if found and isinstance(found[0], str) and found[0].strip() else None

    url = first('//link[translate(@rel,"CANONICAL","canonical")="canonical"]/@href') or first(
        '//meta[@property="og:url"]/@content'
    )
    modified = (
        first('//meta[@property="article:modified_time"]/@content')
        or first('//meta[@name="last-modified"]/@content')
        or first('//meta[@name="dcterms.modified"]/@content')
        or first('//meta[@property="og:updated_time"]/@content')
    )
    title = first("//h1//text()") or first("//title/text()")
    return url, _language(html_lang), _date(modified), _clean(title)


HEADER_WORDS_FILE = PROJECT_ROOT / "data" / "content" / "header_words.yml"


@functools.lru_cache(maxsize=2)
def generic_header_words(path: Path = HEADER_WORDS_FILE) -> FrozenSet[str]:
    """Column headers that add nothing after a value ("Tysdag: 10.00–18.00 (opningstid)"), in any
    language (``data/content/header_words.yml``), read on first use."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(str(word) for words in data["generic_header_words"].values() for word in words)


_WORDS = re.compile(r"[^\W\d_]+")


def _lower_first(text: str) -> str:
    # "Kostpengar per månad" inside a row reads "kostpengar per månad 420 kr"; "SFO-plass" stays.
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def row_line(cells: List[str], headers: List[str]) -> str:
    """One table row as a line that says what each cell is.

    With a header row, the first cell names the row and the others follow with their column
    header: ``Full plass (5 dagar i veka): foreldrebetaling per månad 2 000 kr, kostpengar per
    månad 420 kr``; a two-column table reads ``Grunnavgift: 1 180 (kr per år)``, its header last
    so that the value comes straight after its name. Without headers the cells are joined with
    semicolons (a dash would read as a minus sign between amounts).
    """
    filled = [c for c in cells if c]
    if not filled:
        return ""
    if not headers or len(cells) < 2 or not cells[0]:
        return "; ".join(filled)
    # A header row without the corner cell is one short: its labels belong to the last columns.
    headers = [""] * (len(cells) - len(headers)) + headers if len(headers) < len(cells) else headers
    if len(cells) == 2:
        if not cells[1]:
            return cells[0]
        label = headers[1]
        informative = label and set(_WORDS.findall(label.lower())) - generic_header_words()
        return f"{cells[0]}: {cells[1]} ({_lower_first(label)})" if informative and label.lower() not in cells[1].lower() \
            else f"{cells[0]}: {cells[1]}"
    rest = [(headers[i], cell) for i, cell in enumerate(cells) if i and cell]
    return f"{cells[0]}: " + ", ".join(f"{_lower_first(h)} {c}" if h else c for h, c in rest)


def _table_units(element) -> List[List[str]]:
    headers: List[str] = []
    units: List[List[str]] = []
    for row in element.iter("row"):
        cells = [_clean("".join(c.itertext())) for c in row.iter("cell")]
        roles = [c.get("role") for c in row.iter("cell")]
        if cells and all(role == "head" for role in roles) and not headers:
            headers = cells
            continue
        line = row_line(cells, headers)
        if line:
            units.append([line])
    return units


def _sections(extracted_xml: str, title: str) -> List[Section]:
    root = etree.fromstring(extracted_xml.encode("utf-8"))
    main = root.find("main")
    sections = [Section(heading=None)]
    for element in (main if main is not None else []):
        units = sections[-1].units
        if element.tag == "head":
            heading = _clean("".join(element.itertext()))
            if heading and heading != title:
                sections.append(Section(heading=heading))
        elif element.tag == "list":
            items = [item for item in (_clean("".join(i.itertext())) for i in element.iter("item")) if item]
            if not items:
                continue
            if units and len(units[-1]) == 1 and units[-1][0].endswith(":"):
                units[-1].extend(items)  # the lead sentence and its list stay together
            else:
                units.append(items)
        elif element.tag == "table":
            units.extend(_table_units(element))
        else:
            # A line break inside a paragraph (an address, a contact box) separates lines.
            for br in element.iter("lb"):
                br.tail = "\n" + (br.tail or "")
            lines = [_clean(line) for line in "".join(element.itertext()).split("\n")]
            if any(lines):
                units.append([line for line in lines if line])
    return [s for s in sections if s.units]


def parse_page(
    document: bytes | str,
    location: str,
    modified_header: Optional[datetime] = None,
    detect_language=None,
) -> ParsedPage:
    """Parses a saved or fetched page.

    Args:
        document: the page's HTML.
        location: where it came from: its URL, or its path for a saved page (used as the page's
            address when it has neither ``<link rel="canonical">`` nor ``og:url``).
        modified_header: the HTTP ``Last-Modified`` time, if fetched.
        detect_language: text -> nn|nb|sv, used when the page has no usable ``lang`` attribute.

    Returns:
        The parsed page.

    Raises:
        PageError: the page is empty, too large, not HTML, or has no main text.
    """
    import trafilatura

    if isinstance(document, bytes):
        if len(document) > MAX_PAGE_BYTES:
            raise PageError(f"larger than {MAX_PAGE_BYTES // 1024 // 1024} MB")
        document = document.decode("utf-8", errors="replace")
    if not document.strip():
        raise PageError("empty page")
    if "<" not in document[:2000]:
        raise PageError("not HTML")
    try:
        url, language, modified, title = _head_metadata(document)
    except (etree.ParserError, ValueError) as error:
        raise PageError(f"cannot be parsed as HTML: {error}") from error
    extracted = trafilatura.extract(document, output_format="xml", include_tables=True, include_comments=False)
    if not extracted:
        raise PageError("no main text found")
    sections = _sections(extracted, title)
    if sum(len(block) for section in sections for block in section.blocks) < MIN_MAIN_TEXT_CHARS:
        raise PageError("no main text found")
    page = ParsedPage(
        url=url or location,
        title=title or url or location,
        language=language or "",
        modified_at=modified or modified_header,
        sections=sections,
    )
    if not page.language:
        if detect_language is None:
            detect_language = lambda text: detect(text).language  # noqa: E731
        page.language = detect_language(page.text[:2000])
    return page

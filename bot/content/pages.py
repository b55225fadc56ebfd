"""Reading one web page: its address, title, language, date and main text by section.

The main text comes from trafilatura, which drops menus, footers and cookie banners; the page's
own metadata (canonical link, ``lang`` attribute, modification date) comes from its ``<head>``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import List, Optional

from lxml import etree, html as lxml_html

LANGUAGE_TAGS = {"nn": "nn", "nb": "nb", "no": "nb", "sv": "sv", "se": "sv"}
MAX_PAGE_BYTES = 5 * 1024 * 1024
# Below this, what the extractor found is a menu or a stub, not an answer to anything.
MIN_MAIN_TEXT_CHARS = 40


class PageError(ValueError):
    """A page that cannot be used (empty, not HTML, no main text)."""


@dataclass
class Section:
    """The text under one heading: paragraphs, list items and table rows, in order."""

    heading: Optional[str]
    blocks: List[str] = field(default_factory=list)


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


def _sections(extracted_xml: str, title: str) -> List[Section]:
    root = etree.fromstring(extracted_xml.encode("utf-8"))
    main = root.find("main")
    sections = [Section(heading=None)]
    for element in (main if main is not None else []):
        if element.tag == "head":
            heading = _clean("".join(element.itertext()))
            if heading and heading != title:
                sections.append(Section(heading=heading))
        elif element.tag == "list":
            sections[-1].blocks.extend(
                item for item in (_clean("".join(i.itertext())) for i in element.iter("item")) if item
            )
        elif element.tag == "table":
            for row in element.iter("row"):
                cells = [_clean("".join(c.itertext())) for c in row.iter("cell")]
                line = " – ".join(c for c in cells if c)
                if line:
                    sections[-1].blocks.append(line)
        else:
            text = _clean("".join(element.itertext()))
            if text:
                sections[-1].blocks.append(text)
    return [s for s in sections if s.blocks]


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
            from bot.language.detector import detect

            detect_language = lambda text: detect(text).language  # noqa: E731
        page.language = detect_language(page.text[:2000])
    return page

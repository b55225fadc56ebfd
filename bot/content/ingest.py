"""``python -m bot content ingest SOURCE --municipality ID``: the website into the content tables.

SOURCE is a folder of saved HTML pages, a file with one URL per line, or a sitemap URL. Ingesting
again adds new pages, replaces changed ones (their passages too), leaves unchanged ones alone and
removes pages that are gone from the source. A page that cannot be fetched or parsed is reported
and skipped, never fatal, and is not removed (it failed; it did not disappear).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import requests
from lxml import etree
from sqlalchemy import delete, select

from bot.core import clock
from bot.storage.db import ensure_schema, session_scope
from bot.content.embeddings import ensure_embedded, passage_text, remove_unused, sentence_text
from bot.content.models import ContentPage, ContentPassage
from bot.content.pages import MAX_PAGE_BYTES, PageError, ParsedPage, parse_page
from bot.content.passages import passages_of

logger = logging.getLogger(__name__)
USER_AGENT = "municipal-citizen-assistant (content ingestion)"
TIMEOUT_SECONDS = 20


@dataclass
class IngestSummary:
    """What an ingestion did."""

    added: List[str] = field(default_factory=list)
    changed: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    texts: int = 0
    embedded: int = 0
    embedding_seconds: float = 0.0

    @property
    def passages_per_second(self) -> Optional[float]:
        """Texts embedded per second (None when nothing needed embedding)."""
        return self.embedded / self.embedding_seconds if self.embedded and self.embedding_seconds > 0 else None

    def lines(self) -> List[str]:
        rate = self.passages_per_second
        out = [
            f"added {len(self.added)}, changed {len(self.changed)}, unchanged {len(self.unchanged)}, "
            f"removed {len(self.removed)}, failed {len(self.failed)}; "
            + (f"embedded {self.embedded} of {self.texts} texts ({rate:.1f} per second)" if rate
               else f"all {self.texts} texts already embedded")
        ]
        out += [f"  added    {url}" for url in self.added]
        out += [f"  changed  {url}" for url in self.changed]
        out += [f"  removed  {url}" for url in self.removed]
        out += [f"  failed   {where}: {why}" for where, why in self.failed]
        return out


def _fetch(url: str) -> Tuple[bytes, Optional[datetime]]:
    response = requests.get(url, timeout=TIMEOUT_SECONDS, headers={"User-Agent": USER_AGENT}, stream=True)
    response.raise_for_status()
    body = response.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
    if len(body) > MAX_PAGE_BYTES:
        raise PageError(f"larger than {MAX_PAGE_BYTES // 1024 // 1024} MB")
    modified = response.headers.get("Last-Modified")
    try:
        return body, parsedate_to_datetime(modified) if modified else None
    except (TypeError, ValueError):
        return body, None


def _sitemap_urls(url: str, depth: int = 0) -> List[str]:
    body, _ = _fetch(url)
    root = etree.fromstring(body)
    locations = [loc.text.strip() for loc in root.iter("{*}loc") if loc.text and loc.text.strip()]
    if etree.QName(root).localname == "sitemapindex" and depth < 3:
        return [page for sitemap in locations for page in _sitemap_urls(sitemap, depth + 1)]
    return locations


def _documents(source: str, summary: IngestSummary) -> Iterator[Tuple[str, bytes, Optional[datetime]]]:
    """Yields (location, html, last-modified header) for every page of the source."""
    path = Path(source)
    if source.startswith(("http://", "https://")):
        try:
            urls = _sitemap_urls(source)
        except Exception as error:  # the whole source failed: say so, ingest nothing
            summary.failed.append((source, f"sitemap cannot be read: {error}"))
            return
    elif path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in (".html", ".htm")):
            try:
                yield "/" + file.relative_to(path).as_posix(), file.read_bytes(), None
            except OSError as error:
                summary.failed.append((str(file), str(error)))
        return
    elif path.is_file():
        urls = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.strip() and not line.strip().startswith("#")]
    else:
        summary.failed.append((source, "not a folder, a file of URLs or a sitemap URL"))
        return
    for url in urls:
        try:
            body, modified = _fetch(url)
        except Exception as error:
            summary.failed.append((url, f"cannot be fetched: {error}"))
            continue
        yield url, body, modified


def content_hash(page: ParsedPage) -> str:
    """A hash of what the assistant uses of a page (a new date alone is no change)."""
    return hashlib.sha256("\x00".join([page.title, page.language, page.text]).encode()).hexdigest()


def _store(
    session, municipality: str, location: str, page: ParsedPage, digest: str, existing: Optional[ContentPage]
) -> None:
    if existing is not None:
        session.execute(delete(ContentPassage).where(ContentPassage.page_id == existing.id))
        session.delete(existing)
        session.flush()
    row = ContentPage(
        municipality=municipality, url=page.url, location=location, title=page.title, language=page.language,
        modified_at=page.modified_at, ingested_at=clock.now(), content_hash=digest,
        headings=page.headings, text=page.text,
    )
    session.add(row)
    session.flush()
    for passage in passages_of(page):
        session.add(ContentPassage(
            page_id=row.id, position=passage.position, heading=passage.heading,
            text=passage.text, sentences=passage.sentences,
        ))


def texts_to_embed(title: str, heading: Optional[str], sentences: List[str]) -> List[str]:
    """The texts search needs vectors of for one passage: the passage, then each sentence."""
    return [passage_text(title, heading, sentences), *(sentence_text(title, heading, s) for s in sentences)]


def _progress_bar(total: int, show: bool):
    """A progress bar on the terminal (passages per second); nothing when not asked for."""
    if not show or not total:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=" texts", desc="Embedding", smoothing=0.1, dynamic_ncols=True, leave=True)


def _embed(parsed: dict, summary: IngestSummary, url: Optional[str], show_progress: bool) -> None:
    texts = [text for _, page in parsed.values() for passage in passages_of(page)
             for text in texts_to_embed(page.title, passage.heading, passage.sentences)]
    summary.texts = len(set(texts))
    bar = None

    def progress(done: int, total: int, seconds: float) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar(total, show_progress)
        if bar is not None:
            bar.update(1)
        summary.embedding_seconds = seconds

    with session_scope(url) as session:
        summary.embedded = ensure_embedded(session, texts, progress)
    if bar is not None:
        bar.close()


def _remove_unused_embeddings(session) -> None:
    rows = session.execute(
        select(ContentPage.title, ContentPassage.heading, ContentPassage.sentences)
        .join(ContentPage, ContentPage.id == ContentPassage.page_id)
    ).all()
    remove_unused(session, (text for title, heading, sentences in rows
                            for text in texts_to_embed(title, heading, list(sentences))))


def ingest(source: str, municipality: str, url: Optional[str] = None, show_progress: bool = False) -> IngestSummary:
    """Ingests a source into the content of one municipality (see the module docstring).

    Args:
        source: a folder of saved pages, a file of URLs, or a sitemap URL.
        municipality: the profile id whose content this is.
        url: the database (default: the configured one).
        show_progress: draw a progress bar of the embedding on the terminal.

    Returns:
        What was added, changed, left alone, removed, and what failed and why.
    """
    ensure_schema(url)
    summary = IngestSummary()
    parsed: dict = {}
    for location, body, modified in _documents(source, summary):
        try:
            page = parse_page(body, location, modified)
        except PageError as error:
            summary.failed.append((location, str(error)))
            continue
        except Exception as error:  # a broken page never stops the others
            logger.exception("Cannot parse %s", location)
            summary.failed.append((location, f"cannot be parsed: {type(error).__name__}: {error}"))
            continue
        if page.url in parsed:
            summary.failed.append((location, f"same address as another page ({page.url}); the first one is kept"))
            continue
        parsed[page.url] = (location, page)
    failed_locations = {where for where, _ in summary.failed}
    _embed(parsed, summary, url, show_progress)
    with session_scope(url) as session:
        existing = {
            page.url: page
            for page in session.execute(select(ContentPage).where(ContentPage.municipality == municipality)).scalars()
        }
        for page_url, (location, page) in parsed.items():
            digest = content_hash(page)
            old = existing.get(page_url)
            if old is not None and old.content_hash == digest and old.location == location:
                summary.unchanged.append(page_url)
                continue
            _store(session, municipality, location, page, digest, old)
            (summary.changed if old is not None else summary.added).append(page_url)
        whole_source_failed = source in failed_locations
        for page_url, old in existing.items():
            if page_url not in parsed and old.location not in failed_locations and not whole_source_failed:
                session.execute(delete(ContentPassage).where(ContentPassage.page_id == old.id))
                session.delete(old)
                summary.removed.append(page_url)
        session.flush()
        _remove_unused_embeddings(session)
    return summary

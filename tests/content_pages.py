"""Builds saved HTML pages from the real municipal page excerpts, for the content tests."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import List

from bot.core.config import PROJECT_ROOT

EXCERPTS = PROJECT_ROOT.parent / "shared" / "benchmarks" / "municipal-pages" / "municipal_pages_excerpts.jsonl"


def _body(text: str) -> str:
    """Short lines without a full stop read as headings, "•" lines as list items, the rest as paragraphs."""
    parts: List[str] = []
    items: List[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("•"):
            items.append(f"<li>{html.escape(line.lstrip('• '))}</li>")
            continue
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if not line:
            continue
        if len(line) < 60 and not line.endswith((".", ":", "!", "?")):
            parts.append(f"<h2>{html.escape(line)}</h2>")
        else:
            parts.append(f"<p>{html.escape(line)}</p>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    return "\n".join(parts)


def write_pages(folder: Path) -> List[dict]:
    """Writes one saved page per excerpt (with menus and a cookie banner around it); returns the excerpts."""
    folder.mkdir(parents=True, exist_ok=True)
    excerpts = [json.loads(line) for line in EXCERPTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, excerpt in enumerate(excerpts):
        title = excerpt["topic"].split("/")[0].capitalize()
        page = f"""<!DOCTYPE html><html lang="{excerpt['lang']}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><link rel="canonical" href="{html.escape(excerpt['url'])}"></head>
<body><div id="cookies">Vi bruker informasjonskapsler. <button>OK</button></div>
<header><nav><a href="/">Forside</a> <a href="/tjenester">Tjenester</a> <a href="/politikk">Politikk</a>
<a href="/kontakt">Kontakt</a></nav></header>
<main><article><h1>{html.escape(title)}</h1>
{_body(excerpt['text'])}
</article></main><footer>Postmottak · Personvern · Tilgjengelighet</footer></body></html>"""
        (folder / f"page-{number:02d}.html").write_text(page, encoding="utf-8")
    return excerpts

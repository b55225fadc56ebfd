"""Website content: page parsing, passages, ingestion from every kind of source, snippets."""
from __future__ import annotations

import functools
import http.server
import threading

import pytest
from sqlalchemy import func, select

from bot.storage.db import session_scope, upgrade
from bot.content.answer import decide, snippet_of
from bot.content.ingest import ingest
from bot.content.models import ContentPage, ContentPassage
from bot.content.pages import PageError, parse_page
from bot.content.passages import passages_of, split_sentences_regex
from bot.content.search import Hit

PAGE = """<!DOCTYPE html><html lang="{lang}"><head><title>{title} – Testvik kommune</title>{canonical}
<meta property="article:modified_time" content="2026-03-02T10:00:00+01:00"></head><body>
<div class="cookie-banner">Vi brukar informasjonskapslar. <button>Godta</button></div>
<header><nav><a href="/bos">Bos</a> <a href="/skule">Skule</a> <a href="/helse">Helse</a></nav></header>
<main><article><h1>{title}</h1><p>{intro}</p><h2>Når vert bosset henta?</h2>
<p>Restavfall vert henta kvar tysdag. Set dunken ut før kl. 07.00 same dag.</p>
<ul><li>Lokket må vere lukka.</li><li>Dunken skal stå ved vegen.</li></ul></article></main>
<footer>Testvik kommune, Rådhusvegen 1. Personvern.</footer></body></html>"""


def page(title="Hentekalender", lang="nn", url="https://www.testvik.kommune.no/bos/hentekalender",
         intro="Her finn du hentedagane for bos."):
    canonical = f'<link rel="canonical" href="{url}">' if url else ""
    return PAGE.format(lang=lang, title=title, canonical=canonical, intro=intro)


@pytest.fixture
def url(archive_database_url):
    upgrade(archive_database_url)
    return archive_database_url


def count(url, model):
    with session_scope(url) as session:
        return session.execute(select(func.count(model.id))).scalar()


def test_parse_keeps_main_text_and_metadata_and_drops_chrome():
    parsed = parse_page(page(), "/hentekalender.html")
    assert parsed.url == "https://www.testvik.kommune.no/bos/hentekalender"
    assert (parsed.title, parsed.language) == ("Hentekalender", "nn")
    assert parsed.modified_at.isoformat() == "2026-03-02T09:00:00+00:00"
    assert parsed.headings == ["Når vert bosset henta?"]
    assert "Lokket må vere lukka." in parsed.text
    for chrome in ("informasjonskapslar", "Personvern", "Skule"):
        assert chrome not in parsed.text


@pytest.mark.parametrize("tag, language", [("nn-NO", "nn"), ("no", "nb"), ("nb", "nb"), ("sv-SE", "sv")])
def test_language_from_the_lang_attribute(tag, language):
    assert parse_page(page(lang=tag), "/x.html").language == language


def test_language_detected_when_the_page_has_none():
    document = page(lang="", intro="Här hittar du när soporna hämtas och vad du ska tänka på.")
    document = document.replace('lang=""', "").replace("Når vert bosset henta?", "När hämtas soporna?")
    document = document.replace("Restavfall vert henta kvar tysdag. Set dunken ut før kl. 07.00 same dag.",
                                "Restavfall hämtas varje tisdag. Ställ ut kärlet före klockan sju.")
    document = document.replace("Lokket må vere lukka.", "Locket måste vara stängt.").replace(
        "Dunken skal stå ved vegen.", "Kärlet ska stå vid vägen.")
    assert parse_page(document, "/x.html").language == "sv"


def test_address_falls_back_to_og_url_then_path():
    og = page(url="").replace("</title>", '</title><meta property="og:url" content="https://t.no/og">')
    assert parse_page(og, "/saved.html").url == "https://t.no/og"
    assert parse_page(page(url=""), "/bos/saved.html").url == "/bos/saved.html"


@pytest.mark.parametrize("document, reason", [
    ("", "empty"), ("   \n ", "empty"), ("just some words, no markup at all", "not HTML"),
    ("<html><body><nav>Meny</nav></body></html>", "no main text"), (b"\x00\xff" * 10, "not HTML"),
])
def test_unusable_pages_are_refused_with_a_reason(document, reason):
    with pytest.raises(PageError, match=reason):
        parse_page(document, "/bad.html")


def test_sentences_respect_abbreviations_and_dates():
    text = "Set dunken ut kl. 07.00. Ring tlf. 57 69 40 00 ved spørsmål. Fristen er 1. mars. Hugs det!"
    assert split_sentences_regex(text) == [
        "Set dunken ut kl. 07.00.", "Ring tlf. 57 69 40 00 ved spørsmål.", "Fristen er 1. mars.", "Hugs det!"
    ]


def test_passages_follow_headings_and_stay_short():
    parsed = parse_page(page(intro=" ".join(["Dette er ei lang innleiing om bos og gjenvinning."] * 12)), "/x.html")
    passages = passages_of(parsed)
    assert passages[0].heading is None and passages[-1].heading == "Når vert bosset henta?"
    assert all(len(p.text) <= 420 for p in passages)
    assert passages[-1].sentences[-2:] == ["Lokket må vere lukka.", "Dunken skal stå ved vegen."]


def test_ingest_adds_changes_leaves_and_removes(tmp_path, url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text(page(), encoding="utf-8")
    (site / "b.html").write_text(page("Skulestart", url="https://www.testvik.kommune.no/skule"), encoding="utf-8")
    (site / "broken.html").write_text("", encoding="utf-8")
    first = ingest(str(site), "testvik", url)
    assert sorted(first.added) == ["https://www.testvik.kommune.no/bos/hentekalender", "https://www.testvik.kommune.no/skule"]
    assert first.failed == [("/broken.html", "empty page")]

    (site / "b.html").write_text(page("Skulestart", url="https://www.testvik.kommune.no/skule", intro="Ny tekst."), encoding="utf-8")
    (site / "c.html").write_text(page("Legevakt", url="https://www.testvik.kommune.no/legevakt"), encoding="utf-8")
    (site / "a.html").unlink()
    second = ingest(str(site), "testvik", url)
    assert second.added == ["https://www.testvik.kommune.no/legevakt"]
    assert second.changed == ["https://www.testvik.kommune.no/skule"]
    assert second.removed == ["https://www.testvik.kommune.no/bos/hentekalender"]
    assert count(url, ContentPage) == 2
    third = ingest(str(site), "testvik", url)
    assert sorted(third.unchanged) == ["https://www.testvik.kommune.no/legevakt", "https://www.testvik.kommune.no/skule"]
    assert (third.added, third.changed, third.removed) == ([], [], [])


def test_a_page_that_fails_is_kept_not_removed(tmp_path, url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text(page(), encoding="utf-8")
    ingest(str(site), "testvik", url)
    (site / "a.html").write_text("<html><body></body></html>", encoding="utf-8")
    summary = ingest(str(site), "testvik", url)
    assert summary.removed == [] and summary.failed[0][0] == "/a.html"
    assert count(url, ContentPage) == 1 and count(url, ContentPassage) > 0


def test_unknown_source_is_reported(url):
    summary = ingest("/no/such/folder", "testvik", url)
    assert summary.failed == [("/no/such/folder", "not a folder, a file of URLs or a sitemap URL")]


@pytest.fixture
def web_server(tmp_path):
    site = tmp_path / "served"
    site.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_ingest_from_a_sitemap_and_from_a_file_of_urls(tmp_path, url, web_server):
    site, base = web_server
    (site / "bos.html").write_text(page(url=""), encoding="utf-8")
    (site / "skule.html").write_text(page("Skulestart", url=""), encoding="utf-8")
    (site / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/bos.html</loc></url><url><loc>{base}/skule.html</loc></url>"
        f"<url><loc>{base}/gone.html</loc></url></urlset>", encoding="utf-8")
    summary = ingest(f"{base}/sitemap.xml", "testvik", url)
    assert sorted(summary.added) == [f"{base}/bos.html", f"{base}/skule.html"]
    assert summary.failed[0][0] == f"{base}/gone.html" and "404" in summary.failed[0][1]
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# pages\n{base}/bos.html\n{base}/skule.html\n", encoding="utf-8")
    again = ingest(str(urls), "testvik", url)
    assert sorted(again.unchanged) == [f"{base}/bos.html", f"{base}/skule.html"]


def test_snippet_is_complete_sentences_around_the_best_match():
    sentences = ["Kulturskulen har mange tilbod.", "Søknadsfristen er 1. mai kvart år.", "Du søkjer på nettsida.",
                 "Prisen er 3000 kroner i semesteret, og søskenmoderasjon er 30 prosent." * 3]
    snippet = snippet_of("når er søknadsfristen for kulturskulen", sentences)
    assert "Søknadsfristen er 1. mai kvart år." in snippet
    assert len(snippet) <= 300 and snippet.endswith(".")


def test_decision_needs_the_threshold():
    hit = Hit(1, "https://t.no/a", "A", None, ("Svaret er her.",), "nn", 0.4)
    assert decide("kva er svaret", [hit], minimum=0.5).answered is False
    decision = decide("kva er svaret", [hit], minimum=0.3)
    assert (decision.answered, decision.url, decision.snippet) == (True, "https://t.no/a", "Svaret er her.")
    assert decide("kva", [], minimum=0.3).as_dict() == {"answered": False, "url": None, "title": None, "snippet": None, "score": 0.0}

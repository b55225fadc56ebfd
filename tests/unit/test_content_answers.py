"""Website answers as the citizen sees them: table rows with their headers, lists with their lead
sentence, no past date offered as next, snippets that start at the answer, embeddings computed
once, and questions in another language than the page."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.storage.db import session_scope, upgrade
from bot.content import embeddings
from bot.content.answer import snippet_of
from bot.content.dates import dates_in, only_past
from bot.content.ingest import ingest
from bot.content.models import ContentEmbedding
from bot.content.pages import parse_page, row_line
from bot.content.passages import passages_of
from bot.content.search import search

PAGE = ('<html lang="{lang}"><head><link rel="canonical" href="https://t.no/{slug}"></head><body><main><article>'
        "<h1>{title}</h1>{body}</article></main></body></html>")
SFO_TABLE = ("<p>Prisane gjeld frå 1. august.</p><h2>Prisar</h2><table><thead><tr><th>Plass</th>"
             "<th>Pris per månad</th><th>Kost per månad</th></tr></thead><tbody>"
             "<tr><td>Full plass, meir enn 12 timar i veka</td><td>1 750 kr</td><td>300 kr</td></tr>"
             "<tr><td>Halv plass</td><td>1 100 kr</td><td>150 kr</td></tr></tbody></table>")


def _page(body, lang="nn", slug="sfo", title="SFO"):
    return PAGE.format(lang=lang, slug=slug, title=title, body=body)


@pytest.fixture
def url(archive_database_url, tmp_path, monkeypatch):
    # A file cache of its own, so that "embedded again" is measured against this test alone.
    monkeypatch.setattr(embeddings, "CACHE_FILE", tmp_path / "vectors.pkl")
    upgrade(archive_database_url)
    return archive_database_url


def test_table_rows_keep_their_column_headers():
    page = parse_page(_page(SFO_TABLE), "/sfo.html")
    lines = [s for p in passages_of(page) for s in p.sentences]
    assert "Full plass, meir enn 12 timar i veka: pris per månad 1 750 kr, kost per månad 300 kr" in lines
    assert not any(line.startswith("Plass") for line in lines), "the header row is not content of its own"


@pytest.mark.parametrize("cells, headers, expected", [
    (["Grunnavgift", "1 180"], ["Avgift", "Kroner per år"], "Grunnavgift: 1 180 (kroner per år)"),
    (["Tysdag", "10.00–18.00"], ["Dag", "Opningstid"], "Tysdag: 10.00–18.00"),
    (["Maks høgd", "3,0 m", "4,0 m"], ["Friggebu", "Attefallshus"], "Maks høgd: friggebu 3,0 m, attefallshus 4,0 m"),
    (["Botnfrådrag", "250 000 kr"], [], "Botnfrådrag; 250 000 kr"),
])
def test_row_line_names_each_cell(cells, headers, expected):
    assert row_line(cells, headers) == expected


def test_a_list_stays_with_its_lead_sentence():
    body = ("<h2>Møteplan</h2><p>Kommunestyret har møte på torsdagar kl. 18:00.</p><p>Dei neste møta er:</p>"
            "<ul><li>torsdag 12. november 2026</li><li>torsdag 10. desember 2026</li><li>torsdag 11. februar 2027</li>"
            "<li>torsdag 18. mars 2027</li></ul>")
    passages = passages_of(parse_page(_page(body, slug="mote", title="Kommunestyret"), "/m.html"))
    holding = [p for p in passages if "torsdag 18. mars 2027" in p.sentences]
    assert holding and "Dei neste møta er:" in holding[0].sentences


@pytest.mark.parametrize("text, found", [
    ("torsdag 18. mars 2027", [date(2027, 3, 18)]),
    ("Fristen är den 1 april 2027.", [date(2027, 4, 1)]),
    ("Møtet 02.12.2026 og 2027-01-14", [date(2026, 12, 2), date(2027, 1, 14)]),
    ("Søk innan 1. mars kvart år", []),
])
def test_dates_in_website_text(text, found):
    assert dates_in(text) == found


def test_past_dates_are_never_offered_as_next():
    sentences = ["Kommunestyret har møte på torsdagar kl. 18:00.", "Dei neste møta er:",
                 "torsdag 12. november 2026", "torsdag 10. desember 2026", "torsdag 11. februar 2027"]
    snippet = snippet_of("når er neste kommunestyremøte", sentences, today=date(2026, 12, 3))
    assert "12. november" not in snippet
    assert "Dei neste møta er: torsdag 10. desember 2026" in snippet
    assert only_past("torsdag 12. november 2026", date(2026, 12, 3))
    assert not only_past("Søk innan 1. mars", date(2026, 12, 3))


def test_snippet_is_cut_around_the_sentence_that_answers():
    sentences = [f"Innleiing nummer {n} om noko anna heilt, som ingen har spurt om." for n in range(6)] + [
        "Full plass kostar 1 750 kr i månaden.", "Betalinga skjer kvar månad."]
    similarity = [0.80] * 6 + [0.93, 0.81]
    snippet = snippet_of("kva kostar full plass", sentences, limit=160, similarity=similarity)
    assert "Full plass kostar 1 750 kr i månaden. Betalinga skjer kvar månad." in snippet
    assert not snippet.startswith("Innleiing nummer 0") and len(snippet) <= 160


def test_unchanged_passages_are_not_embedded_again(tmp_path, url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sfo.html").write_text(_page(SFO_TABLE), encoding="utf-8")
    first = ingest(str(site), "testvik", url)
    assert first.embedded == first.texts > 0 and first.passages_per_second
    assert "per second" in first.lines()[0]
    again = ingest(str(site), "testvik", url)
    assert again.embedded == 0 and again.unchanged == ["https://t.no/sfo"]
    (site / "sfo.html").write_text(_page(SFO_TABLE.replace("1. august", "1. januar")), encoding="utf-8")
    changed = ingest(str(site), "testvik", url)
    assert changed.changed == ["https://t.no/sfo"] and 0 < changed.embedded < first.texts


def test_a_fresh_database_reuses_the_machine_cache(tmp_path, url, archive_database_url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sfo.html").write_text(_page(SFO_TABLE), encoding="utf-8")
    assert ingest(str(site), "testvik", url).embedded > 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    assert ingest(str(site), "testvik", other).embedded == 0


def test_vectors_of_removed_pages_are_deleted(tmp_path, url):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sfo.html").write_text(_page(SFO_TABLE), encoding="utf-8")
    (site / "bos.html").write_text(_page("<p>Bosset vert henta kvar tysdag i heile kommunen.</p>", slug="bos",
                                         title="Bos"), encoding="utf-8")
    ingest(str(site), "testvik", url)
    with session_scope(url) as session:
        before = session.scalar(select(func.count()).select_from(ContentEmbedding))
    (site / "bos.html").unlink()
    assert ingest(str(site), "testvik", url).removed == ["https://t.no/bos"]
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(ContentEmbedding)) < before


@pytest.mark.parametrize("question, language", [
    ("vad kostar en heltidsplats på fritids per månad", "sv"),
    ("hva koster full plass på sfo", "nb"),
])
def test_a_question_in_another_language_finds_the_page(tmp_path, url, question, language):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sfo.html").write_text(_page(SFO_TABLE), encoding="utf-8")
    (site / "bos.html").write_text(_page("<p>Restavfallet vert henta kvar tysdag. Papir vert henta kvar fjortande dag.</p>",
                                         slug="bos", title="Hentedagar for bos"), encoding="utf-8")
    (site / "bibliotek.html").write_text(_page("<p>Biblioteket er ope måndag til fredag kl. 10–18.</p>",
                                               slug="bibliotek", title="Opningstider i biblioteket"), encoding="utf-8")
    ingest(str(site), "testvik", url)
    hits = search(question, "testvik", language, top_k=1, url=url)
    assert hits[0].url == "https://t.no/sfo"

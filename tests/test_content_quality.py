"""Website answers: held-out questions per demo municipality, and real municipal pages.

The gate is on the whole question set (at least 20 answerable and 10 unanswerable questions per
language): it fails below 0.85 top-1 on the answerable questions, or when more than 20 % of the
questions the website cannot answer get an answer anyway, at the threshold calibrated on
``data/content_eval/``. Each language must also stay above a floor (0.75 top-1, at most 30 %
false answers), so that one language cannot fall away unnoticed behind the others.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from bot.archive.db import upgrade
from bot.config import PROJECT_ROOT
from bot.content import search as search_module
from bot.content.answer import answer, threshold
from bot.content.evaluate import load_questions, score_questions
from bot.content.ingest import ingest
from tests.content_pages import write_pages

pytestmark = pytest.mark.slow
MUNICIPALITIES = ("saltvika", "storlia", "bjorkvalla")
REAL_PAGES = "real-pages"


@pytest.fixture(scope="module")
def content_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("content")
    url = f"sqlite:///{folder / 'content.db'}"
    upgrade(url)
    for municipality in MUNICIPALITIES:
        summary = ingest(str(PROJECT_ROOT / "data" / "website" / municipality), municipality, url)
        assert summary.failed == [] and len(summary.added) >= 25
    write_pages(folder / "real")
    summary = ingest(str(folder / "real"), REAL_PAGES, url)
    assert summary.failed == [] and len(summary.added) == 16
    return url


def test_held_out_questions(content_url):
    reports = []
    for municipality in MUNICIPALITIES:
        path = PROJECT_ROOT / "tests" / "content" / f"{municipality}.yml"
        _, answerable, unanswerable = load_questions(path)
        assert len(answerable) >= 20 and len(unanswerable) >= 10
        reports.append(score_questions(path, municipality, threshold(), content_url))
    answerable = [s for r in reports for s in r.answerable]
    unanswerable = [s for r in reports for s in r.unanswerable]
    top1 = sum(s.top_url == s.expected for s in answerable) / len(answerable)
    false_answers = sum(s.score >= threshold() for s in unanswerable) / len(unanswerable)
    print("\n" + "\n".join(r.line() for r in reports))
    print(f"all          answerable {len(answerable):>3}: top-1 {top1:.3f} | unanswerable {len(unanswerable):>3}: "
          f"answered anyway {false_answers:.3f} (threshold {threshold():.4f})")
    assert top1 >= 0.85, [(s.question, s.top_url) for s in answerable if s.top_url != s.expected]
    assert false_answers <= 0.20, [(s.question, s.score) for s in unanswerable if s.score >= threshold()]
    for report in reports:
        assert report.top1 >= 0.75 and report.false_answers <= 0.30, report.line()


def test_real_municipal_pages(content_url):
    """All sixteen real pages in one index (Nynorsk and Bokmål pages compete): each question should
    be answered from its own page; the gate is the same 0.85 top-1 as for the demo questions."""
    questions = yaml.safe_load((PROJECT_ROOT / "tests" / "content" / "municipal_pages.yml").read_text(encoding="utf-8"))
    assert len(questions) == 16
    decisions = [(item, answer(item["question"], REAL_PAGES, item["lang"], url=content_url)) for item in questions]
    right = [d.answered and d.url == item["url"] for item, d in decisions]
    print(f"\nreal municipal pages: {sum(right)}/{len(right)} answered from the right page")
    assert sum(right) / len(right) >= 0.85, [(i["question"], d.as_dict()) for (i, d), ok in zip(decisions, right) if not ok]


def test_answer_command_prints_the_decision(content_url):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "answer", "når kjem bosbilen", "--municipality", "saltvika",
         "--lang", "nn", "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env={**__import__("os").environ, "DATABASE_URL": content_url},
    )
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert set(decision) == {"answered", "url", "title", "snippet", "score"}
    assert decision["answered"] is True and decision["url"].startswith("https://www.saltvika.kommune.no/")
    assert len(decision["snippet"]) <= 300


def test_new_content_is_found_without_restarting(tmp_path, monkeypatch):
    monkeypatch.setattr(search_module, "VERSION_CHECK_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    site = tmp_path / "site"
    site.mkdir()
    page = ('<html lang="nn"><head><link rel="canonical" href="https://t.no/{slug}"></head><body><main><article>'
            "<h1>{title}</h1><p>{text}</p></article></main></body></html>")
    (site / "a.html").write_text(page.format(slug="bos", title="Bos", text="Bosset vert henta kvar tysdag i heile kommunen."), encoding="utf-8")
    ingest(str(site), "fresh", url)
    assert search_module.search("kvar finn eg hundeparken", "fresh", "nn", url=url)[0].url == "https://t.no/bos"
    (site / "b.html").write_text(page.format(slug="hund", title="Hundepark", text="Hundeparken ligg ved idrettsplassen og er open heile døgeret."), encoding="utf-8")
    ingest(str(site), "fresh", url)
    assert search_module.search("kvar finn eg hundeparken", "fresh", "nn", url=url)[0].url == "https://t.no/hund"

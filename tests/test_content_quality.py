"""Website answers as the citizen sees them, on held-out questions with gold answers.

Per demo municipality (``tests/content/<municipality>.yml`` and ``tests/content/answers/``, written
independently of the tuning questions in ``data/content_eval/``), at the fusion and threshold
calibrated on the tuning questions only:

* **answer shown**: the snippet contains the gold answer (gate ``ANSWER_SHOWN_GATE``);
* **answered anyway**: an unanswerable question gets an answer (gate ``FALSE_ANSWER_GATE``);
* questions in another language than the site find the right page (``CROSS_LINGUAL_PAGE_GATE``).

The gates are regression floors under the figures measured when they were set (see the README,
"Website content"); the goals of the answers issue (0.85 shown, at most 0.10 answered anyway)
are not reached yet, and the gates are not the goals.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from bot.storage.db import upgrade
from bot.core.config import PROJECT_ROOT
from bot.content import search as search_module
from bot.content.answer import answer, threshold
from bot.content.evaluate import QuestionFile, cross_lingual, load_questions, run_questions
from bot.content.gold import problems
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


HELD_OUT = PROJECT_ROOT / "tests" / "content"
# Gates per municipality, on what the citizen sees (see the module docstring).
ANSWER_SHOWN_GATE = 0.12
FALSE_ANSWER_GATE = 0.15
CROSS_LINGUAL_PAGE_GATE = 0.50


def _held_out(municipality: str) -> QuestionFile:
    """Both held-out files of a municipality: the page questions and the gold-answer questions."""
    first = load_questions(HELD_OUT / f"{municipality}.yml")
    second = load_questions(HELD_OUT / "answers" / f"{municipality}.yml")
    return QuestionFile(first.language, first.today or second.today,
                        first.answerable + second.answerable, first.unanswerable + second.unanswerable)


@pytest.mark.parametrize("municipality", MUNICIPALITIES)
def test_held_out_answers_are_shown(content_url, municipality):
    """The snippet the citizen sees must contain the gold answer; questions the site cannot answer
    must get no answer. Gated per municipality, so one site cannot hide behind the others."""
    questions = _held_out(municipality)
    assert len(questions.answerable) >= 150 and len(questions.unanswerable) >= 30
    report = run_questions(questions, municipality, threshold(), content_url)
    print(f"\n{report.line()} (threshold {threshold():.4f})")
    missed = [(o.question.text, o.snippet) for o in report.answerable if not o.shown][:15]
    assert report.answer_shown >= ANSWER_SHOWN_GATE, missed
    assert report.false_answers <= FALSE_ANSWER_GATE, [o.question.text for o in report.unanswerable if o.answered]


@pytest.mark.parametrize("municipality", MUNICIPALITIES)
def test_questions_in_another_language_find_the_page(content_url, municipality):
    """Swedish questions find Norwegian pages and Norwegian questions Swedish ones (held-out)."""
    questions = cross_lingual(HELD_OUT / "answers" / "crosslingual.yml")[municipality]
    assert len(questions.answerable) >= 30
    report = run_questions(questions, municipality, threshold(), content_url)
    print(f"\ncross-lingual {report.line()}")
    assert report.top1 >= CROSS_LINGUAL_PAGE_GATE, [o.question.text for o in report.answerable
                                                   if o.top_url != o.question.url]
    assert report.false_answers <= 0.25


@pytest.mark.parametrize("path", sorted(HELD_OUT.glob("*.yml")) + sorted((HELD_OUT / "answers").glob("*.yml"))
                         + sorted((PROJECT_ROOT / "data" / "content_eval").glob("*.yml")), ids=lambda p: p.name)
def test_gold_answers_are_on_their_pages(path):
    if path.name == "municipal_pages.yml":
        pytest.skip("real pages: questions without gold answers, checked by page")
    assert problems(path) == []


def test_real_municipal_pages(content_url):
    """All sixteen real pages in one index (Nynorsk and Bokmål pages compete): the best passage of
    each question should be on its own page (0.85), and at least 0.45 of the questions answered
    from it at the calibrated threshold (which is set to keep look-alike questions unanswered)."""
    questions = yaml.safe_load((PROJECT_ROOT / "tests" / "content" / "municipal_pages.yml").read_text(encoding="utf-8"))
    assert len(questions) == 16
    ranked = [search_module.search(item["question"], REAL_PAGES, item["lang"], top_k=1, url=content_url)[0].url == item["url"]
              for item in questions]
    decisions = [(item, answer(item["question"], REAL_PAGES, item["lang"], url=content_url)) for item in questions]
    right = [d.answered and d.url == item["url"] for item, d in decisions]
    print(f"\nreal municipal pages: right page first {sum(ranked)}/16, answered from it {sum(right)}/16")
    assert sum(ranked) / len(ranked) >= 0.85, [i["question"] for i, ok in zip(questions, ranked) if not ok]
    assert sum(right) / len(right) >= 0.45, [(i["question"], d.as_dict()) for (i, d), ok in zip(decisions, right) if not ok]


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

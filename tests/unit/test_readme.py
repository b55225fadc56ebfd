"""Every file and folder the README (and docs/deploy.md) names exists, so readers are never sent nowhere."""
from __future__ import annotations

import re

import pytest

from bot.core.config import PROJECT_ROOT

TOP_LEVEL = ("bot/", "tests/", "data/", "docs/", "benchmarks/", "actions/", ".ci/")
PLACEHOLDER = re.compile(r"[<>*{}$]|\.\.\.|…")


def named_paths(text: str):
    links = re.findall(r"\]\((?!https?:|#|mailto:)([^)\s]+)\)", text)
    quoted = [q for q in re.findall(r"`([^`\s]+)`", text) if q.startswith(TOP_LEVEL)]
    for path in links + quoted:
        path = path.split("#")[0].split(":")[0].rstrip(".,")
        if path and not PLACEHOLDER.search(path):
            yield path


@pytest.mark.parametrize("document", ["README.md", "docs/deploy.md"])
def test_every_path_the_document_names_exists(document):
    base = PROJECT_ROOT / document
    text = base.read_text(encoding="utf-8")
    paths = sorted(set(named_paths(text)))
    assert len(paths) >= 3, paths  # the pattern still finds the paths
    missing = [p for p in paths if not (PROJECT_ROOT / p).exists() and not (base.parent / p).exists()]
    assert missing == []

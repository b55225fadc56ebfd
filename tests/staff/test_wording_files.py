"""The staff wording files: nb and sv have the same keys, and every key the app uses exists in both."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.archive.models import Kind
from bot.core.config import PROJECT_ROOT
from bot.handoff import queue
from bot.staff import texts, users
from bot.staff.routes import accounts

STAFF = PROJECT_ROOT / "bot" / "staff"
WORDING = PROJECT_ROOT / "data" / "locale" / "staff"
# ``t.key`` / ``ctx.t.key`` and ``t("key")`` / ``t('key')``; not ``form.get('key')`` or ``h.t``.
ATTRIBUTE = re.compile(r"(?:(?<![\w.])|\bctx\.|\bself\.)t\.([a-z_][a-z0-9_]*)")
CALL = re.compile(r"(?:(?<![\w.])|\bctx\.|\bself\.)t\((['\"])([a-z_][a-z0-9_.-]*)\1\)")
# A key made of a prefix and a code: t('status.' ~ h.status) in a template, t(f"status.{v}") in Python.
FAMILY = re.compile(r"(?:(?<![\w.])|\bctx\.|\bself\.)t\(f?(['\"])([a-z_]+\.)(?:\1\s*~|\{)")
NOT_KEYS = {"format"}  # str.format on a text: t.account_intro.format(...) names account_intro


def files():
    # texts.py is the loader: its docstrings show ``t.key`` as an example, not a key.
    python = [p for p in sorted(STAFF.glob("**/*.py")) if p.name != "texts.py" or p.parent != STAFF]
    return python + sorted((STAFF / "templates").glob("*.html"))


def used_keys():
    found = set()
    for path in files():
        text = path.read_text(encoding="utf-8")
        found |= {m.group(1) for m in ATTRIBUTE.finditer(text)}
        found |= {m.group(2) for m in CALL.finditer(text)}
    return found - NOT_KEYS


def used_families():
    return {m.group(2) for path in files() for m in FAMILY.finditer(path.read_text(encoding="utf-8"))}


def wording(ui: str):
    return yaml.safe_load((WORDING / f"{ui}.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("ui", texts.UI_LANGUAGES)
def test_each_file_is_one_text_per_key_and_is_what_the_app_loads(ui):
    table = wording(ui)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in table.items())
    assert texts.TEXTS[ui] == table


def test_both_files_have_the_same_keys():
    assert set(wording("nb")) == set(wording("sv"))


def test_the_search_for_used_keys_still_finds_them():
    keys, families = used_keys(), used_families()
    assert {"csrf_failed", "not_found", "app_name", "stats_title", "note_empty"} <= keys
    assert {"status.", "reason.", "lang.", "role.", "wd.", "kind.", "crisis_problem.", "audit_action."} <= families


@pytest.mark.parametrize("ui", texts.UI_LANGUAGES)
def test_every_key_the_templates_and_python_use_exists(ui):
    table = wording(ui)
    assert sorted(k for k in used_keys() if k not in table) == []
    assert sorted(f for f in used_families() if not any(k.startswith(f) for k in table)) == []


@pytest.mark.parametrize("ui", texts.UI_LANGUAGES)
def test_every_code_shown_in_words_has_its_text(ui):
    table = wording(ui)
    kinds = [v for k, v in vars(Kind).items() if k.isupper()]
    codes = ([f"reason.{r}" for r in texts.REASONS] + [f"status.{s}" for s in queue.STATUSES]
             + [f"lang.{lang}" for lang in texts.LANGUAGES] + [f"role.{r}" for r in users.ROLES]
             + [f"kind.{k}" for k in kinds] + [f"wd.{d}" for d in range(7)]
             + [f"deadline.{d}" for d in ("met", "ok", "near", "missed")]
             + [f"users_done.{a}" for a in accounts.USER_ACTIONS]
             + [f"audit_action.{a}" for a in accounts.USER_ACTIONS.values()])
    assert [c for c in codes if c not in table] == []

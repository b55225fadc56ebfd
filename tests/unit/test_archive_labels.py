"""The Noark 5 exports' words come from data/locale/archive/ in the municipality's default language."""
from __future__ import annotations

import re
import string
from datetime import date

import pytest
import yaml
from lxml import etree

from bot.archive.export import export, noark5
from bot.archive.export.labels import LABELS_DIR, LANGUAGES, load_labels
from bot.core.config import get_settings
from bot.storage.db import session_scope, upgrade
from tests.unit import archive_fixtures as fx

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
N = {"n": noark5.ARKIVSTRUKTUR_NS}


def _placeholders(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_the_same_keys_and_placeholders():
    tables = {lang: yaml.safe_load((LABELS_DIR / f"{lang}.yml").read_text(encoding="utf-8")) for lang in LANGUAGES}
    assert set(tables) == {"nb", "nn", "sv"}
    keys = set(tables["nb"])
    for lang, table in tables.items():
        assert set(table) == keys, lang
        for key in keys:
            assert _placeholders(table[key]) == _placeholders(tables["nb"][key]), (lang, key)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no archive labels"):
        load_labels("de")


@pytest.mark.parametrize("municipality, head, citizen, bot_author", [
    ("bjorkvalla", "Samtalslogg från invånarassistenten", "invånare", "invånarassistenten"),
    ("storlia", "Samtalelogg fra innbyggerassistenten", "innbygger", "innbyggerassistenten"),
    ("saltvika", "Samtalelogg frå innbyggjarassistenten", "innbyggjar", "innbyggjarassistenten"),
])
def test_noark5_labels_follow_the_municipality_language(archive_database_url, tmp_path, monkeypatch,
                                                        municipality, head, citizen, bot_author):
    monkeypatch.setenv("BOT_CLOCK", "2026-04-10T12:00:00+00:00")
    monkeypatch.setenv("MUNICIPALITY", municipality)
    get_settings.cache_clear()
    upgrade(archive_database_url)
    with session_scope(archive_database_url) as session:
        fx.populate_export(session)
    out = tmp_path / "uttrekk"
    export(*MARCH, out, "noark5", url=archive_database_url)
    text = (out / noark5.transcript_path(municipality, fx.NN)).read_text(encoding="utf-8")
    assert text.splitlines()[0] == head
    assert re.search(rf"^#4 \S+ \| {citizen} {fx.NN} \| citizen_message \| ", text, re.M)
    tree = etree.parse(str(out / "arkivstruktur.xml"))
    authors = {element.text for element in tree.findall(".//n:registrering/n:forfatter", N)}
    assert bot_author in authors and f"{citizen} {fx.NN}" in authors
    # Noark 5 code values are the standard's, whatever the language.
    assert tree.getroot().findtext("n:arkivstatus", namespaces=N) == "Avsluttet"

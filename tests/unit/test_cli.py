"""The operator command line: clear messages for configuration mistakes, before anything starts."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.cli import main
from bot.core.config import get_settings
from bot.municipality import clear_cache

PROFILE = (Path(__file__).resolve().parents[2] / "data" / "municipalities" / "storlia.yml").read_text(encoding="utf-8")


@pytest.fixture
def profiles(tmp_path, monkeypatch):
    folder = tmp_path / "municipalities"
    folder.mkdir()
    monkeypatch.setenv("MUNICIPALITIES_DIR", str(folder))
    get_settings.cache_clear()
    clear_cache()
    yield folder
    clear_cache()


def test_profile_check_accepts_shipped_profiles(capsys):
    assert main(["profile", "check"]) == 0
    out = capsys.readouterr().out
    for municipality in ("saltvika", "storlia", "bjorkvalla"):
        assert f"{municipality}: ok" in out


def test_malformed_profile_stops_start_up_naming_file_and_field(profiles, monkeypatch, capsys):
    (profiles / "storlia.yml").write_text(PROFILE.replace("thursday: 08:00-18:00", "thursday: 8-"), encoding="utf-8")
    monkeypatch.setenv("MUNICIPALITY", "storlia")
    get_settings.cache_clear()
    assert main(["run"]) == 2  # fails before training or starting any server
    err = capsys.readouterr().err
    assert "storlia.yml" in err
    assert "opening_hours.thursday" in err


def test_missing_profile_is_named(profiles, monkeypatch, capsys):
    monkeypatch.setenv("MUNICIPALITY", "nowhere")
    get_settings.cache_clear()
    assert main(["run"]) == 2
    assert "nowhere.yml" in capsys.readouterr().err


def test_bad_setting_is_named(monkeypatch, capsys):
    monkeypatch.setenv("RASA_PORT", "many")
    get_settings.cache_clear()
    assert main(["profile", "check"]) == 2
    assert "RASA_PORT" in capsys.readouterr().err

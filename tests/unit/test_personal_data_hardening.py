"""Personal data stays out of logs and other people's reach: spaced national ids are found,
id-shaped numbers with failing check digits are masked for staff too, a database error does not
log a message's words, and files the assistant creates are its owner's only."""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.db import engine_for
from bot.core.config import PROJECT_ROOT
from bot.privacy import find_personal_data, mask_for_staff

VALID = "01019050188"  # check digits valid, born 1 January 1990
WRITTEN = [VALID, "010190 501 88", "01.01.90-50188", "01 01 90 50188", "010190 50188", "010190-50188"]


@pytest.mark.parametrize("written", WRITTEN)
def test_national_ids_are_found_however_they_are_spaced(written):
    found = find_personal_data(f"fødselsnummeret mitt er {written}, kan de sjekke")
    assert [f.kind for f in found] == ["national_id"] and found[0].text == written


@pytest.mark.parametrize("written", ["010190 123 45", "01.01.90-12345", "01019012345"])
def test_an_id_with_failing_check_digits_is_masked_for_staff(written):
    message = f"fnr {written} takk"
    assert find_personal_data(message) == []  # not flagged to the citizen as an id...
    masked = mask_for_staff(message)  # ...but a mistyped id is personal data all the same
    assert not any(ch.isdigit() for ch in masked) and masked.startswith("fnr ")


@pytest.mark.parametrize("message", ["møtet er 18.03.2027 kl. 18.00", "sak 2024/12345", "pris 1 750 kr"])
def test_dates_case_numbers_and_prices_are_left_alone(message):
    assert mask_for_staff(message) == message


def test_a_database_error_does_not_log_the_message(tmp_path, caplog):
    engine = engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY, words TEXT NOT NULL UNIQUE)"))
        connection.execute(text("INSERT INTO t (words) VALUES (:w)"), {"w": f"mitt fnr er {VALID}"})
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(SQLAlchemyError) as error:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t (words) VALUES (:w)"), {"w": f"mitt fnr er {VALID}"})
        logging.getLogger("bot.test").exception("Archive write failed: %s", error.value)
    assert "50188" not in str(error.value) and "50188" not in caplog.text
    assert "hidden" in str(error.value)


def test_the_tracker_store_engine_hides_parameters(tmp_path):
    from bot.rasa_server.tracker_store import ArchivingSQLTrackerStore, ResilientSQLTrackerStore

    for store_class in (ArchivingSQLTrackerStore, ResilientSQLTrackerStore):
        store = store_class(f"sqlite:///{tmp_path / (store_class.__name__ + '.db')}")
        assert store.engine.hide_parameters is True


def test_files_the_assistant_creates_are_owner_only(tmp_path):
    database = tmp_path / "state" / "archive.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DATA_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-m", "bot", "archive", "export", "--from", "2026-01-01", "--to",
                             "2026-12-31", "--format", "jsonl", "--out", str(tmp_path / "export")],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert database.exists(), result.stderr
    for path in [database, *sorted((tmp_path / "export").rglob("*"))]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))

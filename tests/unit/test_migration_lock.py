"""Migrations run under a lock shared by processes, and ensure_schema migrates once per process (bot/storage/db.py)."""
from __future__ import annotations

import multiprocessing

from sqlalchemy import inspect

from bot.storage import db


def _migrate(url: str) -> None:
    db.upgrade(url)


def test_two_processes_migrating_one_fresh_database_at_once_both_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_migrate, args=(url,)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0]
    assert "alembic_version" in inspect(db.engine(url)).get_table_names()
    assert (tmp_path / "archive.db.migrate.lock").exists()


def test_ensure_schema_migrates_once_and_then_returns_at_once(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    calls = []
    original = db.upgrade
    monkeypatch.setattr(db, "upgrade", lambda target=None: (calls.append(target), original(target)))
    db.ensure_schema(url)
    db.ensure_schema(url)
    assert calls == [url]
    assert "alembic_version" in inspect(db.engine(url)).get_table_names()


def test_two_processes_migrating_one_fresh_postgresql_database_at_once_both_succeed(postgres_url):
    from tools import services

    url = services.create_database("t_migration_lock", postgres_url)
    try:
        context = multiprocessing.get_context("fork")
        processes = [context.Process(target=_migrate, args=(url,)) for _ in range(2)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(120)
        assert [process.exitcode for process in processes] == [0, 0]
        assert "alembic_version" in inspect(db.engine(url)).get_table_names()
    finally:
        db.engine(url).dispose()
        services.drop_database(url)

"""Database access for the archive: engines (created lazily), sessions and migrations.

Migrations run once at the start of every process that uses the database (``python -m bot run``
before it starts the servers, ``python -m bot archive migrate``, the staff app when it is built)
and always under a lock shared by all processes: on PostgreSQL a session-level advisory lock
(``pg_advisory_lock``), on SQLite an exclusive ``flock`` on a file next to the database. A second
process that starts at the same moment waits and then finds the schema at head. ``ensure_schema``
may be called as often as wanted: after the first call in a process it costs one dictionary look-up.
"""
from __future__ import annotations

import fcntl
import functools
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.core.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url() -> str:
    """Returns the archive's database URL (``DATABASE_URL``, default SQLite under ``DATA_DIR``)."""
    return get_settings().database_url


@functools.lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """Returns the (cached) engine for ``url``; SQLite files get their folder created."""
    parsed = make_url(url)
    # hide_parameters: a database error must never write a message's words (a national ID
    # number, a name) into the log with the failed statement's parameters.
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Several processes write the same file: wait for locks rather than fail at once.
        return create_engine(url, future=True, hide_parameters=True, connect_args={"timeout": 15})
    # A server that does not answer must fail fast so that records go to the spool.
    return create_engine(url, future=True, hide_parameters=True, pool_pre_ping=True,
                         connect_args={"connect_timeout": 3})


def engine(url: Optional[str] = None) -> Engine:
    """Returns the engine of the configured (or given) database."""
    return engine_for(url or database_url())


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on error."""
    factory = sessionmaker(bind=engine(url), future=True, expire_on_commit=False)
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def alembic_config(url: Optional[str] = None):
    """Returns the Alembic configuration for the archive's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


#: The advisory lock's key on PostgreSQL: a fixed number derived from a name, the same in every process.
ADVISORY_LOCK_KEY = zlib.crc32(b"bot.storage.migrations")
# Alembic's upgrade is not thread-safe: one thread of a process migrates, the others wait.
_thread_lock = threading.Lock()
_migrated: set = set()


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Holds the lock under which one process at a time migrates the database at ``url``.

    Args:
        url: SQLAlchemy URL of the database.

    Yields:
        Nothing; the lock is held inside the ``with`` block.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with engine(url).connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})")
        return
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        yield  # nothing shared between processes: the thread lock of ``upgrade`` is enough
        return
    engine(url)  # creates the SQLite folder
    with open(f"{parsed.database}.migrate.lock", "a", encoding="utf-8") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(url: Optional[str] = None) -> None:
    """Brings the database schema up to date (idempotent), under :func:`migration_lock`."""
    from alembic import command

    target = url or database_url()
    with _thread_lock, migration_lock(target):
        command.upgrade(alembic_config(target), "head")
        _migrated.add(target)


def ensure_schema(url: Optional[str] = None) -> None:
    """Migrates the database once per process (under the lock); later calls return at once.

    Args:
        url: SQLAlchemy URL of the database (default: ``DATABASE_URL``).
    """
    target = url or database_url()
    if target not in _migrated:
        upgrade(target)

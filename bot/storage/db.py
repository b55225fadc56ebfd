"""Database access for the archive: engines (created lazily), sessions and migrations."""
from __future__ import annotations

import functools
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


def upgrade(url: Optional[str] = None) -> None:
    """Brings the database schema up to date (idempotent)."""
    from alembic import command

    target = url or database_url()
    engine(target)  # creates the SQLite folder
    command.upgrade(alembic_config(target), "head")


@functools.lru_cache(maxsize=8)
def _upgraded(url: str) -> bool:
    upgrade(url)
    return True


def ensure_schema(url: Optional[str] = None) -> None:
    """Upgrades the schema once per process and database."""
    _upgraded(url or database_url())

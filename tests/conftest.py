"""Shared fixtures."""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from sqlalchemy.engine import make_url

from bot.core.config import get_settings
from tools import services

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("nn", "nb", "sv")


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Each test reads settings anew, with local state in its own folder."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    for name in ("MUNICIPALITY", "BOT_CLOCK", "DATABASE_URL", "REDIS_URL"):
        if name in os.environ:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# ------------------------------------------------------------------------------------------
# PostgreSQL and Redis (tools/services.py; `make test` and .ci/run start them)
# ------------------------------------------------------------------------------------------


def require_services(what: str) -> None:
    """Fails under CI (``CI=true``), else skips, when the test servers are not running."""
    message = (f"{what} for the tests is not running: start PostgreSQL and Redis with `make services` "
               f"(= .venv/bin/python -m tools.services start)")
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's main database (``TEST_POSTGRES_URL``, else this checkout's)."""
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if url:
        return url
    if services.STATE_FILE.exists() and services.postgres_running():
        return services.urls().postgres
    require_services("PostgreSQL")
    return ""  # not reached: require_services skips or fails


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis server (``TEST_REDIS_URL``, else this checkout's)."""
    url = os.environ.get("TEST_REDIS_URL", "").strip()
    if url:
        return url
    if services.STATE_FILE.exists() and services.redis_running():
        return services.urls().redis
    require_services("Redis")
    return ""


def _database_name(nodeid: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", nodeid.rsplit("::", 1)[-1].lower()).strip("_")[:40]
    return f"t_{words}_{uuid.uuid4().hex[:8]}"


def make_postgres_database(postgres_url: str, label: str) -> str:
    """Creates an empty database on the test server, named after ``label``, and returns its URL."""
    return services.create_database(_database_name(label), postgres_url)


def drop_postgres_database(url: str) -> None:
    """Drops a database made by ``make_postgres_database``, after closing the engines that use it."""
    drop_engine(url)
    services.drop_database(url)


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.storage.db import upgrade

    path = tmp_path_factory.mktemp("template") / "archive.db"
    upgrade(f"sqlite:///{path}")
    drop_engine(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _migrated_postgres_template(postgres_url: str) -> str:
    from bot.storage.db import upgrade

    url = make_postgres_database(postgres_url, "template_archive")
    upgrade(url)
    drop_engine(url)
    yield make_url(url).database
    services.drop_database(url)


def drop_engine(url: str) -> None:
    """Closes the connections that bot.storage.db's cached engine holds to ``url``."""
    from bot.storage.db import engine_for

    engine_for(url).dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema and without rows: once SQLite, once PostgreSQL.

    The database-dependent tests take their URL from here, so each of them runs on both. The
    migrations run once per session on each (into a template that every test's database copies).
    """
    if request.param == "sqlite":
        target = tmp_path / "db" / "archive.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_file"), target)
        yield f"sqlite:///{target}"
        return
    url = services.create_database(_database_name(request.node.nodeid), request.getfixturevalue("postgres_url"),
                                   template=request.getfixturevalue("_migrated_postgres_template"))
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def trained_parser():
    """The NLU of the model ``make test`` trained, loaded once for the quality gates."""
    from bot.nlu.training import NluParser
    from tests.quality_helpers import trained_model

    nlu = NluParser(trained_model())
    yield nlu
    nlu.close()

"""Settings from the environment, read in this one place.

A ``.env`` file at the project root is read through python-dotenv; real environment variables win.
Every variable is documented in ``.env.example``.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting in the environment has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """The assistant's settings.

    Attributes:
        municipality: id of the municipality profile in ``data/municipalities/<id>.yml``.
        municipalities_dir: folder of municipality profiles.
        data_dir: folder for local state (SQLite files, spool).
        rasa_port: port of the Rasa server.
        actions_port: port of the action server.
        action_endpoint_url: URL the Rasa server calls the action server on.
        database_url: SQLAlchemy URL of the archive and tracker store database.
        clock: a fixed "now" for tests and demonstrations, or None for the real clock.
        log_level: log level of the processes started by ``python -m bot run``.
        bind_host: address the Rasa server listens on.
        staff_bind_host: address the staff app listens on (its own setting, so that making the
            staff app reachable never opens the Rasa server too).
        actions_bind_host: address the action server listens on (loopback unless told otherwise).
        staff_proxies_count: how many proxies in front of the staff app add ``X-Forwarded-For``
            and ``X-Forwarded-Proto`` (0: none, the headers are ignored).
        public_proxies_count: how many proxies in front of the Rasa server add
            ``X-Forwarded-For`` (0: none; the rate limits then key on the socket's address).
        messages_per_address: citizen messages one client address may send per minute on the
            REST and widget channels (0: no limit).
        messages_per_conversation: messages one conversation may send per minute, on every
            channel (0: no limit).
        handoffs_per_address: new, non-urgent handoffs one client address may open per hour
            (0: no cap; a crisis is never capped).
        cors_origins: origins allowed to call the Rasa server from a browser, separated by spaces;
            empty means none (the demo widget page is served by the Rasa server itself).
        rasa_jwt_secret: the secret that signs the tokens our own processes send to the Rasa HTTP
            API (``Authorization: Bearer``); empty means ``python -m bot run`` makes one per run.
        tracker_store_url: SQLAlchemy URL of Rasa's tracker store.
        spool_dir: folder of the archive's local spool, used while the database is unreachable.
        archive_retention_days: age in days after which ``archive purge`` may delete a
            conversation; 0 means never.
        handoff_due_hours: working hours within which staff must answer a handoff.
        rasa_url: where staff tools reach the Rasa server's HTTP API.
        noark5_schema_dir: the National Archives' Noark 5 schemas (for ``archive export --schemas``
            and the tests); by default ``../shared/standards/noark5-v3.1`` beside the project.
        messenger_verify_token: the token Meta sends when verifying the webhook ("" = off).
        messenger_app_secret: the app secret that signs Meta's webhook deliveries ("" = off).
        messenger_page_access_token: the page token for the Send API.
        messenger_graph_url: the Graph API's address (a local server in the tests).
        messenger_graph_version: the Graph API version, e.g. ``v21.0``.
        staff_port: port of the staff web app.
        redis_url: ``redis://`` URL of Rasa's lock store, shared by several Rasa servers; empty
            means Rasa's in-memory lock store (one Rasa server only).
    """

    municipality: str
    municipalities_dir: Path
    data_dir: Path
    rasa_port: int
    actions_port: int
    action_endpoint_url: str
    database_url: str
    clock: Optional[datetime]
    log_level: str
    bind_host: str
    staff_bind_host: str
    actions_bind_host: str
    staff_proxies_count: int
    public_proxies_count: int
    messages_per_address: int
    messages_per_conversation: int
    handoffs_per_address: int
    cors_origins: str
    rasa_jwt_secret: str
    tracker_store_url: str
    spool_dir: Path
    archive_retention_days: int
    handoff_due_hours: int
    rasa_url: str
    noark5_schema_dir: Path
    messenger_verify_token: str
    messenger_app_secret: str
    messenger_page_access_token: str
    messenger_graph_url: str
    messenger_graph_version: str
    staff_port: int
    redis_url: str = ""


def _whole_number(name: str, default: int, low: int, high: int, meaning: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from error
    if not low <= value <= high:
        raise SettingsError(f"{name} must be {meaning}, got {value}")
    return value


def _int(name: str, default: int) -> int:
    return _whole_number(name, default, 1, 65535, "a port number between 1 and 65535")


def _count(name: str, default: int) -> int:
    return _whole_number(name, default, 0, 10**9, "not negative")


def _redis_url(raw: str) -> str:
    raw = raw.strip()
    if raw and not raw.startswith(("redis://", "rediss://")):
        raise SettingsError(f"REDIS_URL must start with redis:// or rediss://, got {raw!r}")
    return raw


def _clock(raw: str) -> Optional[datetime]:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as error:
        raise SettingsError(f"BOT_CLOCK must be an ISO 8601 time such as 2026-05-17T10:00:00+02:00, got {raw!r}") from error
    if value.tzinfo is None:
        raise SettingsError(f"BOT_CLOCK must include a UTC offset, got {raw!r}")
    return value.astimezone(timezone.utc)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Reads the settings once per process (``.env`` first, the real environment wins)."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    data_dir = Path(os.environ.get("DATA_DIR", "").strip() or PROJECT_ROOT / "var")
    actions_port = _int("ACTIONS_PORT", 5055)
    rasa_port = _int("RASA_PORT", 5005)
    database_url = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'archive.db'}"
    # On SQLite the tracker store gets a file of its own; a server database holds both.
    default_tracker_store = (
        f"sqlite:///{data_dir / 'tracker.db'}" if database_url.startswith("sqlite") else database_url
    )
    return Settings(
        municipality=os.environ.get("MUNICIPALITY", "").strip() or "saltvika",
        municipalities_dir=Path(
            os.environ.get("MUNICIPALITIES_DIR", "").strip() or PROJECT_ROOT / "data" / "municipalities"
        ),
        data_dir=data_dir,
        rasa_port=rasa_port,
        actions_port=actions_port,
        action_endpoint_url=os.environ.get("ACTION_ENDPOINT_URL", "").strip()
        or f"http://localhost:{actions_port}/webhook",
        database_url=database_url,
        clock=_clock(os.environ.get("BOT_CLOCK", "")),
        log_level=os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO",
        bind_host=os.environ.get("BIND_HOST", "").strip() or "127.0.0.1",
        staff_bind_host=os.environ.get("STAFF_BIND_HOST", "").strip() or "127.0.0.1",
        actions_bind_host=os.environ.get("ACTIONS_BIND_HOST", "").strip() or "127.0.0.1",
        staff_proxies_count=_count("STAFF_PROXIES_COUNT", 0),
        public_proxies_count=_count("PUBLIC_PROXIES_COUNT", 0),
        # A shared address (a library's PCs, a school's network) sends for many citizens at once.
        messages_per_address=_count("RATE_LIMIT_PER_ADDRESS", 120),
        # Nobody types more than about one message every three seconds for a whole minute.
        messages_per_conversation=_count("RATE_LIMIT_PER_CONVERSATION", 20),
        handoffs_per_address=_count("HANDOFF_LIMIT_PER_ADDRESS", 10),
        cors_origins=" ".join(os.environ.get("CORS_ORIGINS", "").split()),
        rasa_jwt_secret=os.environ.get("RASA_JWT_SECRET", "").strip(),
        tracker_store_url=os.environ.get("TRACKER_STORE_URL", "").strip() or default_tracker_store,
        spool_dir=Path(os.environ.get("SPOOL_DIR", "").strip() or data_dir / "spool"),
        archive_retention_days=_count("ARCHIVE_RETENTION_DAYS", 0),
        handoff_due_hours=_count("HANDOFF_DUE_HOURS", 24),
        rasa_url=(os.environ.get("RASA_URL", "").strip() or f"http://127.0.0.1:{rasa_port}").rstrip("/"),
        noark5_schema_dir=Path(
            os.environ.get("NOARK5_SCHEMA_DIR", "").strip()
            or PROJECT_ROOT.parent / "shared" / "standards" / "noark5-v3.1"
        ),
        messenger_verify_token=os.environ.get("MESSENGER_VERIFY_TOKEN", "").strip(),
        messenger_app_secret=os.environ.get("MESSENGER_APP_SECRET", "").strip(),
        messenger_page_access_token=os.environ.get("MESSENGER_PAGE_ACCESS_TOKEN", "").strip(),
        messenger_graph_url=(os.environ.get("MESSENGER_GRAPH_URL", "").strip() or "https://graph.facebook.com").rstrip("/"),
        messenger_graph_version=os.environ.get("MESSENGER_GRAPH_VERSION", "").strip() or "v21.0",
        staff_port=_int("STAFF_PORT", 8080),
        redis_url=_redis_url(os.environ.get("REDIS_URL", "")),
    )

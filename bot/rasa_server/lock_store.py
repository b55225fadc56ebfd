"""Rasa's lock store from the settings: Redis at ``REDIS_URL``, else Rasa's in-memory store.

``endpoints.yml`` names ``ProjectLockStore``, so plain ``rasa run`` from the project root and
``python -m bot run`` get the same lock store. Several Rasa servers must not handle one
conversation's messages at the same time: with ``REDIS_URL`` set they share their locks in Redis.
"""
from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.core.config import get_settings


def lock_store_config(url: str) -> Dict[str, object]:
    """Translates a ``redis://`` URL into the settings of Rasa's Redis lock store.

    Rasa's lock store takes the host as ``url`` and the rest as separate keys.

    Args:
        url: a ``redis://`` or ``rediss://`` URL.
    """
    parsed = urlsplit(url)
    config: Dict[str, object] = {
        "type": "redis",
        "url": parsed.hostname or "localhost",
        "port": parsed.port or 6379,
        "db": int(parsed.path.strip("/") or 0),
        "use_ssl": parsed.scheme == "rediss",
    }
    if parsed.username:
        config["username"] = unquote(parsed.username)
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return config


class ProjectLockStore:
    """The lock store ``endpoints.yml`` names: Redis when ``REDIS_URL`` is set, else in memory.

    Rasa creates a custom lock store as ``ProjectLockStore(endpoint_config=...)``; the object made
    is Rasa's own ``RedisLockStore`` or ``InMemoryLockStore``, not an instance of this class.
    """

    def __new__(cls, endpoint_config: Optional[Any] = None) -> LockStore:
        url = get_settings().redis_url
        if not url:
            return InMemoryLockStore()
        options = lock_store_config(url)
        options.pop("type")
        return RedisLockStore(host=options.pop("url"), **options)

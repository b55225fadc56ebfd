"""What every part of the Messenger channel shares: its name, its logger, the id pattern, the schema."""
from __future__ import annotations

import logging
import re
import threading
from typing import Optional

from bot.storage.db import ensure_schema

# One logger for the whole channel, under the name it had as one module (log settings name it).
logger = logging.getLogger("bot.channels.messenger")

CHANNEL = "messenger"
PSID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a page-scoped id, the citizen's address on Messenger

# Alembic's upgrade is not thread-safe, and ensure_schema runs it once per process and database.
_schema_lock = threading.Lock()


def schema(url: Optional[str]) -> None:
    """Makes sure the database has its tables, one thread at a time (the channel's workers are threads).

    Args:
        url: the database (default: the configured one).
    """
    with _schema_lock:
        ensure_schema(url)

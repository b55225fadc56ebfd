"""The current time, which tests and demonstrations can fix with ``BOT_CLOCK``."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.core.config import get_settings


def now() -> datetime:
    """Returns the current time in UTC (or the fixed ``BOT_CLOCK`` time)."""
    fixed = get_settings().clock
    return fixed if fixed is not None else datetime.now(timezone.utc)

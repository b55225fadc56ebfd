"""The staff sign-in limit: at most a few failed sign-ins per user name and client address.

The count lives in the database, so every staff app process (and every server behind the load
balancer) sees the same one, and it is changed with one ``UPDATE … SET failures = failures + 1``,
which the database applies atomically: two wrong passwords at the same moment count twice. The
address is the real client's: behind the documented proxy (``STAFF_PROXIES_COUNT``) it comes
from ``X-Forwarded-For``, so nobody can lock out a colleague by failing on purpose from another
address; a name is only limited from the address that failed.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from bot.storage.db import session_scope
from bot.staff.models import StaffLoginFailures


class LoginLimiter:
    """At most ``limit`` failed sign-ins per (name, address) in ``window`` seconds."""

    def __init__(self, url: Optional[str], limit: int, window: float, now: Callable[[], float] = time.time) -> None:
        self.url, self.limit, self.window, self.now = url, limit, window, now

    @staticmethod
    def _key(name: str, ip: str) -> str:
        # The unit separator, not NUL: PostgreSQL text cannot hold NUL.
        return f"{name.strip().lower()[:300]}\x1f{ip[:200]}"

    def _moment(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def blocked(self, name: str, ip: str) -> bool:
        """Whether this name may not try again from this address now."""
        with session_scope(self.url) as session:
            row = session.get(StaffLoginFailures, self._key(name, ip))
            if row is None:
                return False
            started = row.window_started if row.window_started.tzinfo else row.window_started.replace(tzinfo=timezone.utc)
            return self._moment() - started <= timedelta(seconds=self.window) and row.failures >= self.limit

    def fail(self, name: str, ip: str) -> None:
        """Counts one failed sign-in (a new window when the old one has passed)."""
        key, now = self._key(name, ip), self._moment()
        expired = now - timedelta(seconds=self.window)
        for _ in range(3):
            with session_scope(self.url) as session:
                # A window that has passed starts again at one failure.
                restarted = session.execute(update(StaffLoginFailures).where(
                    StaffLoginFailures.key == key, StaffLoginFailures.window_started < expired,
                ).values(failures=1, window_started=now)).rowcount
                if restarted:
                    return
                counted = session.execute(update(StaffLoginFailures).where(StaffLoginFailures.key == key).values(
                    failures=StaffLoginFailures.failures + 1)).rowcount
                if counted:
                    return
            try:
                with session_scope(self.url) as session:
                    session.add(StaffLoginFailures(key=key, failures=1, window_started=now))
                return
            except IntegrityError:  # another process made the row first: count on it
                continue

    def clear(self, name: str, ip: str) -> None:
        """Forgets the failures after a successful sign-in."""
        with session_scope(self.url) as session:
            session.execute(delete(StaffLoginFailures).where(StaffLoginFailures.key == self._key(name, ip)))

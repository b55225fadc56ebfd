"""Server-side sessions of the staff app and their cookies.

The browser holds only a random token; the database keeps its hash (``StaffSession``), the
user's name, the session's CSRF token and when it was last used. A session ends when its user
signs out, after ``SESSION_IDLE`` without use, or at once when its user is disabled.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Dict, Optional, Tuple

from sqlalchemy import select

from bot.storage.base import utc
from bot.storage.db import session_scope
from bot.staff import users
from bot.staff.models import StaffSession

SESSION_COOKIE = "staff_session"
LOGIN_CSRF_COOKIE = "staff_login_csrf"
SESSION_IDLE = users.SESSION_IDLE

_hash = users.token_hash


def _now() -> datetime:
    return datetime.now(timezone.utc)


def load_session(token: Optional[str], db_url: str) -> Optional[Tuple[Dict[str, str], str]]:
    """The signed-in user of a session token, and the session's CSRF token.

    Args:
        token: the session cookie's value (None or empty: no session).
        db_url: the archive database.

    Returns:
        ``({"name": ..., "role": ...}, csrf_token)``, or None when the session does not exist,
        has ended, was idle too long or belongs to a disabled user (the last two end it).
    """
    if not token:
        return None
    now = _now()
    with session_scope(db_url) as session:
        row = session.execute(
            select(StaffSession).where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
        ).scalar_one_or_none()
        if row is None:
            return None
        if now - utc(row.last_seen) > SESSION_IDLE:
            row.ended_at = now
            return None
        user = users.get_user(row.user_name, db_url)
        if user is None or user.disabled_at is not None:  # a disabled user's sessions stop at once
            row.ended_at = now
            return None
        row.last_seen = now
        return {"name": user.name, "role": user.role}, row.csrf_token


def new_session(name: str, db_url: str) -> str:
    """Starts a session for the user ``name``; returns its token (for the cookie only)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with session_scope(db_url) as session:
        session.add(StaffSession(token_hash=_hash(token), user_name=name, csrf_token=secrets.token_urlsafe(32),
                                 created_at=now, last_seen=now))
    return token


def end_session(token: Optional[str], db_url: str) -> None:
    """Ends the session of ``token`` (nothing happens for an unknown or ended one)."""
    if not token:
        return
    with session_scope(db_url) as session:
        row = session.execute(select(StaffSession).where(StaffSession.token_hash == _hash(token))).scalar_one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at = _now()


def set_cookie(request, resp, name: str, value: str, max_age: Optional[int] = None) -> None:
    """Sets an HttpOnly, SameSite=Strict cookie for the whole app; Secure over HTTPS.

    Args:
        request: the request (its scheme, also as the trusted proxy reports it).
        resp: the response to set the cookie on.
        name: the cookie's name.
        value: its value.
        max_age: seconds it lives (default: until the browser closes).
    """
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if request.scheme == "https":
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def clear_cookie(resp, name: str) -> None:
    """Tells the browser to drop the cookie ``name``."""
    resp.cookies[name] = ""
    resp.cookies[name]["max-age"] = 0
    resp.cookies[name]["path"] = "/"

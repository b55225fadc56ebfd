"""Tables of the staff web app: users, server-side sessions and the audit log."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Text

from bot.storage.base import Base, Id


class StaffUser(Base):
    """A staff member who may sign in (password stored as an argon2 hash)."""

    __tablename__ = "staff_users"

    id = Column(Id, primary_key=True, autoincrement=True)
    name = Column(String(255), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)  # staff or admin
    created_at = Column(DateTime(timezone=True), nullable=False)
    disabled_at = Column(DateTime(timezone=True), nullable=True)  # set: may not sign in


class StaffSession(Base):
    """A signed-in browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "staff_sessions"

    id = Column(Id, primary_key=True, autoincrement=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_name = Column(String(255), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    last_seen = Column(DateTime(timezone=True), nullable=False)
    ended_at = Column(DateTime(timezone=True), nullable=True)


class StaffAuditLog(Base):
    """Who did what: every transcript view, reveal of personal data and staff action."""

    __tablename__ = "staff_audit_log"

    id = Column(Id, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    user = Column(String(255), nullable=False)
    action = Column(String(32), nullable=False)
    conversation_id = Column(String(255), nullable=True, index=True)
    detail = Column(Text, nullable=True)


class StaffLoginFailures(Base):
    """Failed sign-ins of one user name from one client address within the current window,
    shared by every staff app process (see :mod:`bot.staff.login_limit`)."""

    __tablename__ = "staff_login_failures"

    key = Column(String(600), primary_key=True)
    failures = Column(Integer, nullable=False)
    window_started = Column(DateTime(timezone=True), nullable=False)

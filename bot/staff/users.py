"""Staff users: creating, disabling and enabling them, passwords, sessions, and the audit log."""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Dict, List, Optional, Sequence, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from bot.storage.db import ensure_schema, session_scope
from bot.storage.base import utc
from bot.staff.models import StaffAuditLog, StaffSession, StaffUser

ROLES = ("staff", "trainer", "admin")
MIN_PASSWORD_LENGTH = 12
# A session unused this long is over (the staff app ends it on its next use).
SESSION_IDLE = timedelta(hours=8)
AUDIT_PAGE_SIZE = 100
_hasher = PasswordHasher()
# Verified against when the name is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


class StaffUserError(ValueError):
    """A user that cannot be created or changed (short password, duplicate name, last admin, …).

    ``code`` names the problem for the staff app, which shows it in the UI language
    (``account_error.<code>`` in data/locale/staff/<ui>.yml); the message is for the command line.
    """

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class UserSummary:
    """One staff user as the admin page lists them."""

    name: str
    role: str
    created_at: datetime
    disabled_at: Optional[datetime]
    open_sessions: int

    @property
    def disabled(self) -> bool:
        """Whether the user is barred from signing in."""
        return self.disabled_at is not None


def token_hash(token: str) -> str:
    """The SHA-256 of a session token, as ``staff_sessions.token_hash`` stores it."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffUserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters", "too_short")


def add_user(name: str, role: str, password: str, url: Optional[str] = None) -> StaffUser:
    """Creates a staff user with an argon2 hash of ``password``.

    Raises:
        StaffUserError: the name is empty or taken, the role unknown or the password too short.
    """
    name = (name or "").strip()
    if not name:
        raise StaffUserError("the user name is empty")
    if len(name) > 255:
        raise StaffUserError("the user name is longer than 255 characters")
    if role not in ROLES:
        raise StaffUserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    _check_password(password)
    ensure_schema(url)
    with session_scope(url) as session:
        if session.execute(select(StaffUser.id).where(StaffUser.name == name)).first() is not None:
            raise StaffUserError(f"there is already a user called {name!r}", "duplicate")
        user = StaffUser(name=name, role=role, password_hash=_hasher.hash(password),
                         created_at=datetime.now(timezone.utc))
        session.add(user)
        session.flush()
        session.expunge(user)
    return user


def authenticate(name: str, password: str, url: Optional[str] = None) -> Optional[StaffUser]:
    """Returns the user if the password is right and the user is not disabled, else None.

    The hash is verified in every case (a dummy one for an unknown name, the real one for a
    disabled user), so that the time taken does not tell which names exist or are disabled.
    """
    ensure_schema(url)
    with session_scope(url) as session:
        user = session.execute(select(StaffUser).where(StaffUser.name == (name or "").strip())).scalar_one_or_none()
        if user is not None:
            session.expunge(user)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return user


def get_user(name: str, url: Optional[str] = None) -> Optional[StaffUser]:
    """The user called ``name`` (disabled or not), or None."""
    with session_scope(url) as session:
        user = session.execute(select(StaffUser).where(StaffUser.name == name)).scalar_one_or_none()
        if user is not None:
            session.expunge(user)
        return user


def _user_row(session, name: str, *, lock: bool = False) -> StaffUser:
    query = select(StaffUser).where(StaffUser.name == (name or "").strip())
    user = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if user is None:
        raise StaffUserError(f"there is no user called {(name or '').strip()!r}", "unknown_user")
    return user


def _require_user(name: str, url: Optional[str]) -> None:
    with session_scope(url) as session:
        _user_row(session, name)


def _end_sessions(session, name: str, keep_hash: Optional[str] = None) -> int:
    now = datetime.now(timezone.utc)
    query = update(StaffSession).where(StaffSession.user_name == name, StaffSession.ended_at.is_(None))
    if keep_hash is not None:
        query = query.where(StaffSession.token_hash != keep_hash)
    return session.execute(query.values(ended_at=now)).rowcount or 0


def end_sessions(name: str, keep_token: Optional[str] = None, url: Optional[str] = None) -> int:
    """Signs out every open session of ``name`` (except the one whose cookie is ``keep_token``).

    Returns:
        How many sessions were ended.

    Raises:
        StaffUserError: there is no such user.
    """
    with session_scope(url) as session:
        user = _user_row(session, name)
        return _end_sessions(session, user.name, token_hash(keep_token) if keep_token else None)


def disable_user(name: str, by: Optional[str] = None, url: Optional[str] = None) -> int:
    """Bars ``name`` from signing in and ends their open sessions at once.

    Args:
        name: the user to disable.
        by: the admin doing it (None from the command line); an admin may not disable themselves.
        url: the archive database.

    Returns:
        How many sessions were ended.

    Raises:
        StaffUserError: unknown user, ``by`` is the user, or the user is the last enabled admin.
    """
    with session_scope(url) as session:
        # The enabled admins are locked first and always in the same order: two admins disabling
        # each other at once then wait for one another (PostgreSQL) instead of deadlocking, and
        # the second sees the first's change, so that one enabled admin always remains.
        admins = session.execute(select(StaffUser.name).where(
            StaffUser.role == "admin", StaffUser.disabled_at.is_(None)).order_by(StaffUser.id).with_for_update()
        ).scalars().all()
        user = _user_row(session, name, lock=True)
        if by is not None and by == user.name:
            raise StaffUserError("you cannot disable your own account", "self")
        last_admin = StaffUserError(f"{user.name!r} is the last enabled admin", "last_admin")
        if user.name in admins and len(admins) <= 1:
            raise last_admin
        if user.disabled_at is None and not _disable_unless_last_admin(session, user.id):
            raise last_admin
        return _end_sessions(session, user.name)


def _disable_unless_last_admin(session, user_id: int) -> bool:
    # SQLite ignores FOR UPDATE (and pysqlite reads outside the transaction), so the check is
    # repeated inside the one statement that writes: SQLite runs it under its write lock.
    others = aliased(StaffUser)
    enabled_admins = select(func.count(others.id)).where(
        others.role == "admin", others.disabled_at.is_(None)).scalar_subquery()
    changed = session.execute(
        update(StaffUser).where(StaffUser.id == user_id, StaffUser.disabled_at.is_(None),
                                or_(StaffUser.role != "admin", enabled_admins > 1))
        .values(disabled_at=datetime.now(timezone.utc)).execution_options(synchronize_session=False))
    return changed.rowcount == 1


def enable_user(name: str, url: Optional[str] = None) -> None:
    """Lets a disabled user sign in again (with their old password).

    Raises:
        StaffUserError: there is no such user.
    """
    with session_scope(url) as session:
        _user_row(session, name).disabled_at = None


def set_password(name: str, password: str, keep_token: Optional[str] = None, url: Optional[str] = None) -> int:
    """Gives ``name`` a new password and signs out their sessions (except ``keep_token``'s).

    Someone who knew the old password may still hold a session; ending them is the point of a reset.

    Returns:
        How many sessions were ended.

    Raises:
        StaffUserError: unknown user or a password shorter than ``MIN_PASSWORD_LENGTH``.
    """
    _check_password(password)
    with session_scope(url) as session:
        user = _user_row(session, name)
        user.password_hash = _hasher.hash(password)
        return _end_sessions(session, user.name, token_hash(keep_token) if keep_token else None)


def change_password(name: str, current: str, new: str, keep_token: Optional[str] = None,
                    url: Optional[str] = None) -> int:
    """A user's own change: the current password must be right; other sessions are signed out.

    Returns:
        How many other sessions were ended.

    Raises:
        StaffUserError: ``wrong_password`` or ``too_short``.
    """
    if authenticate(name, current, url) is None:
        raise StaffUserError("the current password is wrong", "wrong_password")
    return set_password(name, new, keep_token=keep_token, url=url)


def list_users(url: Optional[str] = None) -> List[UserSummary]:
    """Every staff user by name, with role, creation, disabled state and open sessions."""
    alive_since = datetime.now(timezone.utc) - SESSION_IDLE
    with session_scope(url) as session:
        counts = dict(session.execute(
            select(StaffSession.user_name, func.count(StaffSession.id))
            .where(StaffSession.ended_at.is_(None), StaffSession.last_seen > alive_since)
            .group_by(StaffSession.user_name)).all())
        return [UserSummary(u.name, u.role, utc(u.created_at), utc(u.disabled_at) if u.disabled_at else None,
                            counts.get(u.name, 0))
                for u in session.execute(select(StaffUser).order_by(StaffUser.name)).scalars()]


def audit(user: str, action: str, conversation_id: Optional[str] = None, detail: Optional[str] = None,
          url: Optional[str] = None) -> None:
    """Writes one row to the staff audit log."""
    with session_scope(url) as session:
        session.add(StaffAuditLog(at=datetime.now(timezone.utc), user=user, action=action,
                                  conversation_id=conversation_id, detail=detail))


def audit_log(url: Optional[str] = None) -> List[StaffAuditLog]:
    """Returns the audit log, oldest first."""
    ensure_schema(url)
    with session_scope(url) as session:
        rows = session.execute(select(StaffAuditLog).order_by(StaffAuditLog.id)).scalars().all()
        for row in rows:
            session.expunge(row)
        return rows


def _audit_query(user: str = "", action: str = ""):
    query = select(StaffAuditLog)
    if user:
        query = query.where(StaffAuditLog.user == user)
    if action:
        query = query.where(StaffAuditLog.action == action)
    return query


def audit_page(user: str = "", action: str = "", page: int = 1, size: int = AUDIT_PAGE_SIZE,
               url: Optional[str] = None) -> Tuple[List[StaffAuditLog], int]:
    """One page of the audit log, newest first, filtered by exact user name and action.

    Args:
        user: only this user's rows ("" for all).
        action: only this action ("" for all).
        page: 1 is the newest ``size`` rows.
        size: rows per page.
        url: the archive database.

    Returns:
        The page's rows and the number of rows the filter matches.
    """
    query = _audit_query(user, action)
    with session_scope(url) as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(query.order_by(StaffAuditLog.id.desc())
                               .offset((max(page, 1) - 1) * size).limit(size)).scalars().all()
        for row in rows:
            session.expunge(row)
    return rows, total


def audit_rows(user: str = "", action: str = "", url: Optional[str] = None) -> List[StaffAuditLog]:
    """Every row the filter matches, newest first (for the CSV export)."""
    with session_scope(url) as session:
        rows = session.execute(_audit_query(user, action).order_by(StaffAuditLog.id.desc())).scalars().all()
        for row in rows:
            session.expunge(row)
    return rows


def audit_actions(url: Optional[str] = None) -> List[str]:
    """The actions that occur in the audit log, for the filter."""
    with session_scope(url) as session:
        return sorted(session.execute(select(StaffAuditLog.action).distinct()).scalars())


USAGE = "usage: staff add-user NAME --role staff|trainer|admin   (password on standard input)"


def _read_password(stdin: IO[str]) -> str:
    # Never from the command line: arguments are visible to every user of the machine (ps).
    if stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return stdin.readline().rstrip("\r\n")


def main_add_user(argv: Sequence[str], stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout,
                  stderr: IO[str] = sys.stderr, url: Optional[str] = None) -> int:
    """``staff add-user NAME --role staff|admin``; reads the password's first line from stdin.

    Returns:
        0 when the user was created, 2 on a usage error or a refused user (message on stderr).
    """
    args = list(argv)
    role = "staff"
    if "--role" in args:
        at = args.index("--role")
        if at + 1 >= len(args):
            print(f"error: --role needs a value (staff, trainer or admin)\n{USAGE}", file=stderr)
            return 2
        role = args[at + 1]
        del args[at:at + 2]
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=stderr)
        return 2
    password = _read_password(stdin)
    try:
        add_user(args[0], role, password, url=url)
    except StaffUserError as error:
        print(f"error: {error}", file=stderr)
        return 2
    print(f"created {role} user {args[0].strip()}", file=stdout)
    return 0


# The operator's commands on an existing user: what they do, the audit action, what they print.
MANAGE_COMMANDS = ("disable-user", "enable-user", "set-password", "end-sessions")
CLI_ACTOR = "operator"


def _manage(command: str, name: str, stdin: IO[str], url: Optional[str]) -> Tuple[str, str, Optional[int]]:
    if command == "disable-user":
        return "user_disable", "disabled user {name}; ended {n} session(s)", disable_user(name, url=url)
    if command == "enable-user":
        enable_user(name, url=url)
        return "user_enable", "enabled user {name}", None
    if command == "set-password":
        _require_user(name, url)  # before asking for a password that would go nowhere
        ended = set_password(name, _read_password(stdin), url=url)
        return "user_set_password", "set a new password for {name}; ended {n} session(s)", ended
    if command == "end-sessions":
        return "user_end_sessions", "ended {n} session(s) of {name}", end_sessions(name, url=url)
    raise StaffUserError(f"unknown command {command!r}; use one of {', '.join(MANAGE_COMMANDS)}")


def main_manage(command: str, name: str, stdin: Optional[IO[str]] = None, stdout: Optional[IO[str]] = None,
                stderr: Optional[IO[str]] = None, url: Optional[str] = None) -> int:
    """``staff disable-user|enable-user|set-password|end-sessions NAME`` for operators.

    ``set-password`` reads the new password's first line from stdin (or asks on a terminal).
    Each change is written to the audit log as done by ``operator``.

    Returns:
        0 when done, 2 when the user is unknown or the change refused (message on stderr).
    """
    # Looked up at call time, so that a redirected sys.stdout (tests, wrappers) is the one used.
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    ensure_schema(url)
    name = (name or "").strip()
    try:
        action, message, ended = _manage(command, name, stdin, url)
    except StaffUserError as error:
        print(f"error: {error}", file=stderr)
        return 2
    detail = f"user={name}; via=cli" + (f"; sessions_ended={ended}" if ended is not None else "")
    audit(CLI_ACTOR, action, None, detail, url)
    print(message.format(name=name, n=ended), file=stdout)
    return 0

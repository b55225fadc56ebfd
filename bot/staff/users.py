"""Staff users: creating them, checking passwords, and the audit log."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import IO, List, Optional, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from bot.archive.db import ensure_schema, session_scope
from bot.staff.models import StaffAuditLog, StaffUser

ROLES = ("staff", "admin")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verified against when the name is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


class StaffUserError(ValueError):
    """A user that cannot be created (short password, duplicate name, bad role)."""


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
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffUserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    ensure_schema(url)
    with session_scope(url) as session:
        if session.execute(select(StaffUser.id).where(StaffUser.name == name)).first() is not None:
            raise StaffUserError(f"there is already a user called {name!r}")
        user = StaffUser(name=name, role=role, password_hash=_hasher.hash(password),
                         created_at=datetime.now(timezone.utc))
        session.add(user)
        session.flush()
        session.expunge(user)
    return user


def authenticate(name: str, password: str, url: Optional[str] = None) -> Optional[StaffUser]:
    """Returns the user if the password is right, else None."""
    ensure_schema(url)
    with session_scope(url) as session:
        user = session.execute(select(StaffUser).where(StaffUser.name == (name or "").strip())).scalar_one_or_none()
        if user is not None:
            session.expunge(user)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def get_user(name: str, url: Optional[str] = None) -> Optional[StaffUser]:
    with session_scope(url) as session:
        user = session.execute(select(StaffUser).where(StaffUser.name == name)).scalar_one_or_none()
        if user is not None:
            session.expunge(user)
        return user


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


USAGE = "usage: staff add-user NAME --role staff|admin   (password on standard input)"


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
            print(f"error: --role needs a value (staff or admin)\n{USAGE}", file=stderr)
            return 2
        role = args[at + 1]
        del args[at:at + 2]
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=stderr)
        return 2
    if stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    else:
        password = stdin.readline().rstrip("\r\n")
    try:
        add_user(args[0], role, password, url=url)
    except StaffUserError as error:
        print(f"error: {error}", file=stderr)
        return 2
    print(f"created {role} user {args[0].strip()}", file=stdout)
    return 0

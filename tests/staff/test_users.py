"""Creating staff users from the command line helper."""
from __future__ import annotations

import io

import pytest

from bot.storage.db import upgrade
from bot.staff.users import StaffUserError, add_user, audit_log, authenticate, list_users, main_add_user


@pytest.fixture
def url(archive_database_url):
    url = archive_database_url
    upgrade(url)
    return url


def run(argv, password, url):
    out, err = io.StringIO(), io.StringIO()
    code = main_add_user(argv, stdin=io.StringIO(password + "\n"), stdout=out, stderr=err, url=url)
    return code, out.getvalue(), err.getvalue()


def test_add_user_hashes_with_argon2(url):
    user = add_user("kari", "admin", "a long enough pass", url=url)
    assert user.password_hash.startswith("$argon2")
    assert "a long enough pass" not in user.password_hash
    assert authenticate("kari", "a long enough pass", url=url).role == "admin"
    assert authenticate("kari", "wrong password!!", url=url) is None
    assert authenticate("nobody", "a long enough pass", url=url) is None


def test_main_add_user_reads_the_password_from_stdin(url):
    code, out, err = run(["kari.nordmann", "--role", "staff"], "twelve chars", url)
    assert (code, err) == (0, "")
    assert "kari.nordmann" in out
    assert authenticate("kari.nordmann", "twelve chars", url=url).role == "staff"


@pytest.mark.parametrize("argv, password, message", [
    (["kari", "--role", "staff"], "short", "at least 12 characters"),
    (["kari", "--role", "boss"], "long enough password", "unknown role 'boss'"),
    (["kari", "--role"], "long enough password", "--role needs a value"),
    ([], "long enough password", "usage:"),
])
def test_main_add_user_refuses_clearly(url, argv, password, message):
    code, _, err = run(argv, password, url)
    assert code == 2
    assert message in err


def test_duplicate_name_is_refused(url):
    assert run(["kari", "--role", "staff"], "long enough password", url)[0] == 0
    code, _, err = run(["kari", "--role", "admin"], "another long password", url)
    assert code == 2 and "already a user called 'kari'" in err
    with pytest.raises(StaffUserError):
        add_user("kari", "staff", "long enough password", url=url)


# ---- the operator's commands on existing users (python -m bot staff …) ----------------------

@pytest.fixture
def cli(url, monkeypatch, capsys):
    """Runs ``python -m bot staff …`` in-process against ``url``; returns (code, stdout, stderr)."""
    from bot.ops.cli import main
    from bot.core.config import get_settings

    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()

    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["staff", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    get_settings.cache_clear()


def open_session(url, name):
    from datetime import datetime, timezone

    from bot.storage.db import session_scope
    from bot.staff.models import StaffSession

    now = datetime.now(timezone.utc)
    with session_scope(url) as session:
        session.add(StaffSession(token_hash=f"{name}-{now.timestamp()}-{id(now)}", user_name=name, csrf_token="x",
                                 created_at=now, last_seen=now))


def open_sessions(url, name):
    return [u.open_sessions for u in list_users(url) if u.name == name][0]


def test_cli_disable_and_enable_a_user(url, cli):
    add_user("kari", "staff", "a long enough pass", url=url)
    add_user("ada", "admin", "the admin's password", url=url)
    open_session(url, "kari")
    assert cli("disable-user", "kari") == (0, "disabled user kari; ended 1 session(s)\n", "")
    assert authenticate("kari", "a long enough pass", url=url) is None and open_sessions(url, "kari") == 0
    assert [u.disabled for u in list_users(url)] == [False, True]  # ada, kari
    assert [(r.user, r.action, r.detail) for r in audit_log(url)][-1] == (
        "operator", "user_disable", "user=kari; via=cli; sessions_ended=1")
    assert cli("enable-user", "kari") == (0, "enabled user kari\n", "")
    assert authenticate("kari", "a long enough pass", url=url).name == "kari"


def test_cli_refuses_the_last_admin_and_unknown_users(url, cli):
    add_user("ada", "admin", "the admin's password", url=url)
    code, out, err = cli("disable-user", "ada")
    assert (code, out) == (2, "") and "error: 'ada' is the last enabled admin" in err
    assert authenticate("ada", "the admin's password", url=url) is not None
    for command in ("disable-user", "enable-user", "end-sessions"):
        code, _, err = cli(command, "nobody")
        assert code == 2 and "error: there is no user called 'nobody'" in err, command
    code, _, err = cli("set-password", "nobody", stdin="a long enough pass\n")
    assert code == 2 and "no user called 'nobody'" in err
    assert [r.action for r in audit_log(url)] == []  # nothing was done


def test_cli_set_password_reads_stdin_and_signs_the_user_out(url, cli):
    add_user("kari", "staff", "a long enough pass", url=url)
    open_session(url, "kari")
    code, out, err = cli("set-password", "kari", stdin="the new long password\n")
    assert (code, out, err) == (0, "set a new password for kari; ended 1 session(s)\n", "")
    assert authenticate("kari", "a long enough pass", url=url) is None
    assert authenticate("kari", "the new long password", url=url) is not None
    assert "the new long password" not in " ".join(r.detail or "" for r in audit_log(url))
    code, _, err = cli("set-password", "kari", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err
    assert authenticate("kari", "the new long password", url=url) is not None


def test_cli_end_sessions(url, cli):
    add_user("kari", "staff", "a long enough pass", url=url)
    open_session(url, "kari")
    open_session(url, "kari")
    assert cli("end-sessions", "kari") == (0, "ended 2 session(s) of kari\n", "")
    assert open_sessions(url, "kari") == 0
    assert authenticate("kari", "a long enough pass", url=url) is not None  # not disabled


def test_cli_password_is_never_an_argument():
    from bot.ops.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["staff", "set-password", "kari", "--password", "x" * 20])


def test_two_admins_disabling_each_other_at_once_leave_one_enabled(url, monkeypatch):
    """Both check "not the last admin" before either writes; the database must keep one of them."""
    import threading
    import time

    from bot.staff import users

    add_user("ada", "admin", "the admin's password", url=url)
    add_user("olav", "admin", "olav's long password", url=url)
    original = users._user_row

    def slow(session, name, **kwargs):  # widens the window between the check and the write
        row = original(session, name, **kwargs)
        time.sleep(0.5)
        return row

    monkeypatch.setattr(users, "_user_row", slow)
    outcomes = {}

    def disable(target, by):
        try:
            users.disable_user(target, by=by, url=url)
            outcomes[by] = "done"
        except StaffUserError as error:
            outcomes[by] = error.code

    threads = [threading.Thread(target=disable, args=("olav", "ada")),
               threading.Thread(target=disable, args=("ada", "olav"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["done", "last_admin"], outcomes
    assert [u.name for u in list_users(url) if not u.disabled] in (["ada"], ["olav"])

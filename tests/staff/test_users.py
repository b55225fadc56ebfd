"""Creating staff users from the command line helper."""
from __future__ import annotations

import io

import pytest

from bot.archive.db import upgrade
from bot.staff.users import StaffUserError, add_user, authenticate, main_add_user


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

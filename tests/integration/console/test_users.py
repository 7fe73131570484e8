"""The user store in Redis: hashing, verification, throttling, one user per e-mail;
``waybill user``."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from console.cli.commands import user as user_cmd
from console.cli.errors import CliError
from state.control.throttle import throttle_key
from state.control.users import UserError, UserStore, check_password, user_key
from tests.integration.console.conftest import PASSWORD, ROOT, Console
from tests.integration.runtime import worker_env


def test_passwords_are_salted_scrypt_hashes(console: Console) -> None:
    console.users.add("dora", "viewer", PASSWORD)
    stored = console.cp.client.hget(user_key("dora"), "password")
    other = console.cp.client.hget(user_key("ana"), "password")
    assert isinstance(stored, str)  # the control plane's client decodes replies
    assert stored.startswith("scrypt$1024$8$1$")
    assert PASSWORD not in stored
    assert stored != other  # same password, different salt
    assert check_password(PASSWORD, stored)
    assert not check_password(PASSWORD + "x", stored)


def test_verify(console: Console) -> None:
    assert console.users.verify("ana", PASSWORD) is not None
    assert console.users.verify("ana", "wrong-password") is None
    assert console.users.verify("nobody", PASSWORD) is None
    console.users.add("oidc@example.com", "approver", None)
    assert console.users.verify("oidc@example.com", "") is None  # no password: no login


def test_bad_users_are_refused(console: Console) -> None:
    with pytest.raises(UserError, match="already exists"):
        console.users.add("ana", "viewer", PASSWORD)
    with pytest.raises(UserError, match="invalid user name"):
        console.users.add("<script>", "viewer", PASSWORD)
    with pytest.raises(UserError, match="unknown role"):
        console.users.add("eve", "root", PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="at least 8"):
        console.users.add("eve", "viewer", "short")


def test_roles_by_email(console: Console) -> None:
    console.users.add("dora", "approver", None, email="Dora@Example.com")
    found = console.users.find_by_email("dora@example.com")
    assert found is not None
    assert (found.name, found.role) == ("dora", "approver")
    assert console.users.find_by_email("nobody@example.com") is None


def test_an_email_belongs_to_one_user(console: Console) -> None:
    """Else an OIDC sign-in with it would become the last user given it."""
    console.users.add("p9", "viewer", None, email="bob@x.com")
    with pytest.raises(UserError, match=r"^e-mail 'BOB@x\.com' already belongs to user 'p9'"):
        console.users.add("p10", "viewer", None, email="BOB@x.com")
    assert console.users.get("p10") is None  # not half-added: the name is free again
    found = console.users.find_by_email("bob@x.com")
    assert found is not None
    assert found.name == "p9"
    console.users.add("p10", "viewer", None, email="bob10@x.com")
    console.users.add("oidc@example.com", "viewer", None)  # signs in by its name
    with pytest.raises(UserError, match=r"already belongs to user 'oidc@example\.com'"):
        console.users.add("p11", "viewer", None, email="oidc@example.com")
    console.users.add("me@example.com", "viewer", None, email="me@example.com")


def test_of_two_users_added_at_once_with_one_email_one_gets_it(console: Console) -> None:
    def add(name: str) -> str:
        try:
            return console.users.add(name, "viewer", None, email="same@x.com").name
        except UserError:
            return ""

    with ThreadPoolExecutor(8) as pool:
        added = [name for name in pool.map(add, [f"u{i}" for i in range(8)]) if name]
    assert len(added) == 1
    found = console.users.find_by_email("same@x.com")
    assert found is not None
    assert found.name == added[0]
    assert {u.name for u in console.users.list()} & {f"u{i}" for i in range(8)} == set(added)


def test_throttle_grows_and_a_success_resets_the_name(console: Console) -> None:
    store = UserStore(console.cp.client, free_attempts=2, base_delay_s=10, max_delay_s=25)
    delays = [store.login("bob", "nope-nope", "10.0.0.1").retry_after_s for _ in range(2)]
    assert delays == [0.0, 10.0]
    refused = store.login("bob", PASSWORD, "10.0.0.1")
    assert refused.throttled
    assert refused.user is None
    console.cp.client.hdel(throttle_key("user", "bob"), "until")  # as if the wait had passed
    assert store.login("bob", "nope-nope", "10.0.0.2").retry_after_s == 20.0  # doubled
    console.cp.client.hdel(throttle_key("user", "bob"), "until")
    assert store.login("bob", "nope-nope", "10.0.0.2").retry_after_s == 25.0  # capped
    console.cp.client.delete(throttle_key("user", "bob"))
    assert store.login("bob", PASSWORD, "10.0.0.2").user is not None
    assert store.retry_after("bob") == 0.0


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    user_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_waybill_user_add_list_role(
    console: Console, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    assert _cli("user", "add", "erin", "--role", "approver", "--password-stdin") == 0
    assert UserStore(console.cp.client).verify("erin", "a-good-password") is not None
    assert _cli("user", "role", "erin", "admin") == 0
    assert _cli("user", "list") == 0
    out = capsys.readouterr().out
    assert "user erin added (approver)" in out
    assert "erin is now admin" in out
    assert [e.action for e in console.cp.audit.list(target="erin")] == ["user.role", "user.add"]


def test_waybill_user_passwd_ends_the_users_console_sessions(
    console: Console, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = [console.login("bob") for _ in range(2)]
    other = console.login("cleo")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-new-password\n"))
    assert _cli("user", "passwd", "bob", "--password-stdin") == 0
    assert "password of bob changed; 2 console session(s) ended" in capsys.readouterr().out
    assert all(console.cp.sessions.get(token) is None for token in old)
    assert console.cp.sessions.get(other) is not None
    (entry,) = console.cp.audit.list(action="user.passwd")
    assert entry.details == {"sessions_ended": 2}


def test_waybill_user_add_refuses_another_users_email_before_the_password(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.users.add("p9", "viewer", None, email="bob@x.com")
    stdin = io.StringIO("a-good-password\n")
    monkeypatch.setattr("sys.stdin", stdin)
    with pytest.raises(CliError, match=r"^e-mail 'bob@x\.com' already belongs to user 'p9'"):
        _cli("user", "add", "p10", "--role", "viewer", "--email", "bob@x.com", "--password-stdin")
    assert stdin.read() == "a-good-password\n"  # not asked for
    assert console.users.get("p10") is None
    with pytest.raises(CliError, match=r"^invalid e-mail 'bob': use the form local@domain$"):
        _cli("user", "add", "p10", "--role", "viewer", "--email", "bob", "--no-password")


def _token_to(console: Console, tmp_path: Path, stdout: int) -> subprocess.CompletedProcess[str]:
    """``waybill user token bob`` in its own process, its standard output ``stdout``."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "user", "token", "bob"],
        env=worker_env(console.server.url, tmp_path),
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("unreadable", ["closed pipe", "full disk"])
def test_a_token_that_cannot_be_printed_is_revoked(
    console: Console, tmp_path: Path, unreadable: str
) -> None:
    """`waybill user token bob | true` or `> /dev/full`: nobody could read the token, so nobody
    may hold it. It is revoked at once, and stderr says so in one line."""
    if unreadable == "closed pipe":
        read, write = os.pipe()
        os.close(read)  # the reader went away before the token was written
        try:
            done = _token_to(console, tmp_path, write)
        finally:
            os.close(write)
    else:
        with open("/dev/full", "w") as full:
            done = _token_to(console, tmp_path, full.fileno())
    why = "Broken pipe" if unreadable == "closed pipe" else "No space left on device"
    assert (done.returncode, done.stderr) == (
        1,
        f"waybill: could not print the new API token ({why}): revoked, no token was issued\n",
    )
    assert console.cp.tokens.list("bob") == []
    actions = [e.action for e in console.cp.audit.list(target="bob")]
    assert actions[:2] == ["token.revoke", "token.issue"]


def test_a_printed_token_is_live(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert _cli("user", "token", "bob") == 0
    info = console.cp.tokens.verify(out.getvalue().strip())
    assert info is not None
    assert info.user == "bob"

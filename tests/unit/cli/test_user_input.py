"""What ``waybill user`` refuses before it opens Redis: a password that is not text, an e-mail
that is not ``local@domain`` (one line each, exit code 1)."""

from __future__ import annotations

import io

import pytest

from state.control.users import UserError, check_new_user
from tests.unit.cli.helpers import one_line_error, run

NOT_UTF8 = b"\xff\xfe\xc3(pass\x80word\n"


@pytest.mark.parametrize("errors", ["surrogateescape", "strict"])
def test_a_password_that_is_not_utf8_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, errors: str
) -> None:
    """Python reads such bytes as lone surrogates (UTF-8 mode, the C locale) or fails to."""
    stdin = io.TextIOWrapper(io.BytesIO(NOT_UTF8), encoding="utf-8", errors=errors)
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, err = run(capsys, "user", "passwd", "vic", "--password-stdin")
    assert (code, out) == (1, "")
    assert one_line_error(err) == "waybill: the password is not text: it must be UTF-8"


@pytest.mark.parametrize(
    "email", ["bob@x.com", "Dora.O'Neil+ops@mail.example.co.uk", "root@localhost"]
)
def test_an_email_of_the_form_local_at_domain_is_accepted(email: str) -> None:
    check_new_user("bob", "viewer", email)


@pytest.mark.parametrize(
    "email",
    ["", "bob", "@x.com", "bob@", "bob@x@y.com", "bob @x.com", "bob@x..com", "b\x1bob@x.com"],
)
def test_an_email_not_of_the_form_local_at_domain_is_refused(email: str) -> None:
    with pytest.raises(UserError, match=r"^invalid e-mail .*: use the form local@domain$"):
        check_new_user("bob", "viewer", email)

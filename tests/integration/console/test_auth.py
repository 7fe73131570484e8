"""Login through the console: password checks, throttling, roles re-read on every page view."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from console.ui.auth import SESSION_USER
from tests.integration.console.conftest import PASSWORD, Console, button, texts


def _login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    button(at, "Log in").click()
    return at.run()


def test_login_page_until_signed_in(console: Console) -> None:
    at = console.page(None)
    assert [t.value for t in at.title] == ["📦 Waybill console"]
    _login(at, "ana", PASSWORD)
    assert at.session_state[SESSION_USER] == "ana"
    (entry,) = console.cp.audit.list(action="login")
    assert entry.actor == "ana"


def test_signed_in_user_gets_the_overview_and_the_sidebar(console: Console) -> None:
    at = console.page(None, user="ana")
    assert [h.value for h in at.header] == ["Overview"]
    assert "ana (admin)" in texts(at)


def test_wrong_password_is_refused_and_audited(console: Console) -> None:
    at = _login(console.page(None), "ana", "not-the-password")
    assert "Wrong user name or password." in texts(at)
    assert SESSION_USER not in at.session_state
    (entry,) = console.cp.audit.list(action="login.failed")
    assert entry.target == "ana"


def test_unknown_user_gets_the_same_answer(console: Console) -> None:
    at = _login(console.page(None), "mallory", PASSWORD)
    assert "Wrong user name or password." in texts(at)
    assert SESSION_USER not in at.session_state


def test_repeated_failures_are_slowed_down(console: Console) -> None:
    at = console.page(None)
    for _ in range(3):
        _login(at, "bob", "guess-guess")
    assert "before the next try" in texts(at)
    _login(at, "bob", PASSWORD)  # right password, but too soon: not even checked
    assert "Too many failed attempts" in texts(at)
    assert SESSION_USER not in at.session_state
    assert console.users.retry_after("bob") > 0
    # The three checked failures are audited; the refused attempt (never checked) is not.
    assert len(console.cp.audit.list(action="login.failed")) == 3


def test_failed_logins_are_audited_at_a_bounded_rate(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_LOGIN_AUDIT_PER_MINUTE", "3")
    at = console.page(None)
    for i in range(8):  # a new name each time: the per-name throttle never refuses
        _login(at, f"guess{i}", "guess-guess")
        assert "Wrong user name or password." in texts(at)
    assert [e.target for e in console.cp.audit.list(action="login.failed")] == [
        "guess2",
        "guess1",
        "guess0",
    ]
    (paused,) = console.cp.audit.list(action="login.failed.audit_paused")
    assert paused.details["per_minute"] == 3
    assert console.cp.audit.count() == 4


def test_role_change_applies_at_the_next_page_view(console: Console) -> None:
    at = console.page("kills", user="ana")
    assert any(b.label == "Trip kill switch" for b in at.button)
    console.users.set_role("ana", "viewer")
    at.run()
    assert not any(b.label == "Trip kill switch" for b in at.button)
    assert "needs the admin role" in texts(at)


def test_pages_need_a_session(console: Console) -> None:
    at = AppTest.from_file(
        str(console_app_page("inbox")), default_timeout=20
    ).run()  # a page opened without the app's login gate
    assert "Log in first." in texts(at)
    assert not at.button


def test_logout(console: Console) -> None:
    at = console.page(None, user="bob")
    button(at, "Log out").click()
    at.run()
    assert SESSION_USER not in at.session_state
    assert console.cp.audit.list(action="logout")[0].actor == "bob"


def console_app_page(name: str) -> object:
    from tests.integration.console.conftest import ROOT

    return ROOT / "console" / "pages" / f"{name}.py"

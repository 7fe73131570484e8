"""Who gets in: a live session behind the page, roles re-read on every page view, the login
prompt (and the way back to the same address) when the session is missing, revoked or ended.

Password logins themselves go through ``POST /auth/session`` (tests: test_login_routes.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from streamlit.testing.v1 import AppTest

from console.ui.auth import SESSION_TOKEN
from tests.integration.console.conftest import ROOT, Console, texts


def _login_link(at: AppTest) -> str:
    """Where the prompt's "Log in" link points (our own HTML, one link)."""
    (html,) = at.get("html")
    body = str(html.proto.body)
    assert body.count("<a ") == 1, body
    return body.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def test_without_a_session_the_page_offers_the_login_and_comes_back(console: Console) -> None:
    at = console.page("inbox", query={"esc": "e-1"})
    assert "You are not logged in, or your session has ended." in texts(at)
    assert not [h.value for h in at.header]  # the page itself did not run
    link = urlsplit(_login_link(at))
    assert link.path == "/login"
    assert parse_qs(link.query)["next"] == ["/inbox?esc=e-1"]
    assert not at.sidebar.text  # no navigation, no user


def test_a_session_signs_the_page_in_with_the_sidebar(console: Console) -> None:
    at = console.page(None, user="ana")
    assert [h.value for h in at.header] == ["Overview"]
    assert "ana (admin)" in texts(at)
    assert not at.get("html") or "Log in" not in str(at.get("html")[0].proto.body)


def test_a_revoked_session_ends_at_the_next_page_view(console: Console) -> None:
    at = console.page("kills", user="ana")
    assert any(b.label == "Trip switch" for b in at.button)
    console.cp.sessions.revoke(at.session_state[SESSION_TOKEN])  # a logout in another tab
    at.run()
    assert "You are not logged in, or your session has ended." in texts(at)
    assert not any(b.label == "Trip switch" for b in at.button)
    assert urlsplit(_login_link(at)).query == "next=%2Fkills"


def test_an_unknown_token_gets_nothing(console: Console) -> None:
    at = AppTest.from_file(str(ROOT / "console" / "app.py"), default_timeout=20)
    at.session_state[SESSION_TOKEN] = "made-up-token"
    at.run()
    assert "You are not logged in, or your session has ended." in texts(at)
    assert not at.header


def test_a_removed_user_loses_access_with_a_live_session(console: Console) -> None:
    at = console.page(None, user="bob")
    console.cp.client.delete("wb:user:bob")
    at.run()
    assert "You are not logged in, or your session has ended." in texts(at)


def test_role_change_applies_at_the_next_page_view(console: Console) -> None:
    at = console.page("kills", user="ana")
    assert any(b.label == "Trip switch" for b in at.button)
    console.users.set_role("ana", "viewer")
    at.run()
    assert not any(b.label == "Trip switch" for b in at.button)
    assert "needs the admin role" in texts(at)
    assert "ana (viewer)" in texts(at)


def test_pages_need_a_session(console: Console) -> None:
    page = ROOT / "console" / "screens" / "inbox.py"
    at = AppTest.from_file(str(page), default_timeout=20).run()  # without the app's gate
    assert "Log in first." in texts(at)
    assert not at.button


def test_the_users_page_is_in_the_sidebar_of_admins_only(console: Console) -> None:
    admin = console.page(None, user="ana")
    viewer = console.page(None, user="vic")
    assert "Users" in [p.proto.label for p in admin.sidebar.page_link]
    assert "Users" not in [p.proto.label for p in viewer.sidebar.page_link]
    at = console.page("users", user="vic")  # the address still works: the page says no
    assert "Managing users needs the admin role." in texts(at)

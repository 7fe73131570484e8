"""The login routes and the session gate over HTTP, against the test's own Valkey.

The routes and the gate run in a Starlette app exactly as ``console/asgi.py`` mounts them on the
``st.App``; behind the gate, a one-line app stands in for Streamlit's page (the browser journeys
in tests/e2e cover the real one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from console.ui.handles import Handles, open_handles
from console.web.gate import SessionGate
from console.web.routes import COOKIE, WebConfig, login_routes
from state.control.sessions import session_key, token_digest
from state.control.users import ScryptParams, UserStore
from tests.integration.console.conftest import PASSWORD, Console

if TYPE_CHECKING:
    # What starlette's TestClient is typed on (at run time it falls back to httpx without it).
    from httpx2 import Response

ORIGIN = "http://testserver"


async def _streamlit_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the app")


def _app(h: Handles) -> Starlette:
    config = WebConfig(handles=lambda: h, origins=lambda: frozenset({ORIGIN}), oidc=lambda: False)
    pages = [Route(p, _streamlit_page) for p in ("/", "/inbox", "/run_detail", "/_stcore/health")]
    return Starlette(
        routes=[*login_routes(config), *pages],
        middleware=[Middleware(SessionGate, config=config)],
    )


@pytest.fixture
def handles(console: Console) -> Iterator[Handles]:
    h = open_handles(console.server.url)
    # The console's own user store, with the tests' cheap scrypt cost for the seeded users.
    h.users.params = ScryptParams(n=2**10)
    yield h
    h.cp.close()


@pytest.fixture
def client(handles: Handles) -> Iterator[TestClient]:
    with TestClient(_app(handles), base_url=ORIGIN, follow_redirects=False) as c:
        yield c


def _log_in(
    client: TestClient, user: str, password: str = PASSWORD, next_url: str = "/"
) -> Response:
    return client.post(
        "/auth/session",
        data={"user": user, "password": password, "next": next_url},
        headers={"Origin": ORIGIN},
    )


def test_a_deep_link_without_a_session_goes_to_login_and_comes_back(
    client: TestClient, console: Console
) -> None:
    reply = client.get("/inbox?esc=e-1")
    assert reply.status_code == 303
    login = urlsplit(reply.headers["location"])
    assert login.path == "/login"
    assert parse_qs(login.query)["next"] == ["/inbox?esc=e-1"]
    page = client.get(reply.headers["location"])
    assert page.status_code == 200
    assert 'value="/inbox?esc=e-1"' in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    reply = _log_in(client, "bob", next_url="/inbox?esc=e-1")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/inbox?esc=e-1"
    assert client.get("/inbox?esc=e-1").text == "the app"  # the cookie now opens the page
    assert client.get("/").text == "the app"  # and every other page (a new tab, a reload)


def test_the_cookie_is_httponly_strict_and_holds_a_token_redis_only_hashes(
    client: TestClient, console: Console
) -> None:
    reply = _log_in(client, "ana")
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    token = client.cookies[COOKIE]
    session = console.cp.sessions.get(token)
    assert session is not None
    assert session.user == "ana"
    assert console.cp.client.exists(session_key(token_digest(token)))
    assert not any(token in key for key in console.cp.client.scan_iter(match="*"))
    (entry,) = console.cp.audit.list(action="login")
    assert (entry.actor, entry.details["session"]) == ("ana", session.id)


def test_a_foreign_origin_cannot_log_in_or_out(client: TestClient, console: Console) -> None:
    reply = client.post(
        "/auth/session",
        data={"user": "ana", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    )
    assert reply.status_code == 403
    assert COOKIE not in client.cookies
    assert not console.cp.audit.list(action="login")
    _log_in(client, "ana")
    token = client.cookies[COOKIE]
    foreign = client.post("/auth/session/end", headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert console.cp.sessions.get(token) is not None


def test_logout_revokes_the_session_everywhere(client: TestClient, console: Console) -> None:
    _log_in(client, "bob")
    token = client.cookies[COOKIE]
    reply = client.post("/auth/session/end", headers={"Origin": ORIGIN})
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login")
    assert console.cp.sessions.get(token) is None
    assert console.cp.audit.list(action="logout")[0].actor == "bob"
    client.cookies.set(COOKIE, token)  # a copy of the cookie (another tab) is dead too
    assert client.get("/inbox").status_code == 303


def test_wrong_password_is_refused_and_audited(client: TestClient, console: Console) -> None:
    reply = _log_in(client, "ana", "not-the-password")
    assert reply.status_code == 401
    assert "Wrong user name or password." in reply.text
    assert COOKIE not in client.cookies
    (entry,) = console.cp.audit.list(action="login.failed")
    assert entry.target == "ana"
    reply = _log_in(client, "mallory")  # an unknown user gets the same answer
    assert "Wrong user name or password." in reply.text


def test_repeated_failures_are_slowed_down(client: TestClient, console: Console) -> None:
    for _ in range(3):
        reply = _log_in(client, "bob", "guess-guess")
    assert "before the next try" in reply.text
    reply = _log_in(client, "bob")  # right password, but too soon: not even checked
    assert reply.status_code == 429
    assert "Too many failed attempts" in reply.text
    assert COOKIE not in client.cookies
    assert console.users.retry_after("bob") > 0
    # The three checked failures are audited; the refused attempt (never checked) is not.
    assert len(console.cp.audit.list(action="login.failed")) == 3


def test_failed_logins_are_audited_at_a_bounded_rate(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_LOGIN_AUDIT_PER_MINUTE", "3")
    h = open_handles(console.server.url)
    with TestClient(_app(h), base_url=ORIGIN, follow_redirects=False) as client:
        for i in range(8):  # a new name each time: the per-name throttle never refuses
            assert "Wrong user name" in _log_in(client, f"guess{i}", "guess-guess").text
    h.cp.close()
    assert [e.target for e in console.cp.audit.list(action="login.failed")] == [
        "guess2",
        "guess1",
        "guess0",
    ]
    (paused,) = console.cp.audit.list(action="login.failed.audit_paused")
    assert paused.details["per_minute"] == 3
    assert console.cp.audit.count() == 4


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_login_never_sends_the_browser_off_site(client: TestClient, target: str) -> None:
    reply = _log_in(client, "ana", next_url=target)
    assert reply.headers["location"] == "/"


def test_the_login_page_escapes_what_it_echoes(client: TestClient) -> None:
    page = client.get('/login?next=/inbox?esc="><script>alert(1)</script>')
    assert "<script>" not in page.text
    reply = _log_in(client, '"><script>alert(1)</script>', "guess-guess")
    assert "<script>alert" not in reply.text
    assert "&lt;script&gt;" in reply.text


def test_a_live_session_skips_the_login_page_and_a_dead_cookie_is_dropped(
    client: TestClient, console: Console
) -> None:
    _log_in(client, "ana")
    token = client.cookies[COOKIE]
    reply = client.get("/login?next=/run_detail?run=r1")
    assert (reply.status_code, reply.headers["location"]) == (303, "/run_detail?run=r1")
    console.cp.sessions.revoke(token)  # ended elsewhere (logout, expiry)
    page = client.get("/login?next=/")
    assert page.status_code == 200
    assert "Your session has ended" in page.text
    assert "max-age=0" in page.headers["set-cookie"].lower()


def test_only_pages_are_gated(client: TestClient) -> None:
    assert client.get("/_stcore/health").text == "the app"
    assert client.get("/run_detail?run=r1").status_code == 303


def test_a_user_store_without_password_login_rejects_oidc_only_users(
    client: TestClient, console: Console
) -> None:
    UserStore(console.cp.client, params=ScryptParams(n=2**10)).add(
        "dora@example.com", "viewer", None, email="dora@example.com"
    )
    assert _log_in(client, "dora@example.com", "").status_code == 401

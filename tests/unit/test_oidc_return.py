"""``OidcReturn`` on a bare Starlette app (Starlette's test client, no server): a page opened
before sign-in is kept, the callback that signs in follows it, and nothing else is followed."""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from console.web.oidc_return import NEXT_COOKIE, OidcReturn


def _page(request: Request) -> Response:
    return PlainTextResponse("page")


def _callback(request: Request) -> Response:
    """Like Streamlit's: to ``/``, with its auth cookie unless the provider said no."""
    response = RedirectResponse("/", status_code=302)
    if "error" not in request.query_params:
        response.set_cookie("_streamlit_user", "signed-value", httponly=True, samesite="lax")
    return response


def _client(oidc: bool = True) -> TestClient:
    app = Starlette(
        routes=[
            Route("/", _page),
            Route("/run_detail", _page),
            Route("/oauth2callback", _callback),
        ],
        middleware=[Middleware(OidcReturn, oidc=lambda: oidc)],
    )
    return TestClient(app, base_url="http://127.0.0.1:8501", follow_redirects=False)


def test_the_page_opened_before_sign_in_is_where_the_callback_lands() -> None:
    client = _client()
    assert client.get("/run_detail?run=abc").status_code == 200
    assert client.cookies.get(NEXT_COOKIE) == quote("/run_detail?run=abc", safe="")
    back = client.get("/oauth2callback?code=x&state=y")
    assert back.headers["location"] == "/run_detail?run=abc"
    assert NEXT_COOKIE not in client.cookies  # used once


def test_a_callback_that_signs_nobody_in_or_an_address_from_elsewhere_is_not_followed() -> None:
    client = _client()
    client.get("/run_detail?run=abc")
    assert client.get("/oauth2callback?error=denied").headers["location"] == "/"
    for planted in ("https://evil.example/x", "//evil.example/x", "/auth/logout"):
        client.cookies.clear()
        client.cookies.set(NEXT_COOKIE, quote(planted, safe=""))
        assert client.get("/oauth2callback?code=x").headers["location"] == "/"


def test_signed_in_browsers_home_and_password_consoles_keep_nothing() -> None:
    client = _client()
    client.cookies.set("_streamlit_user", "signed-value")
    client.get("/run_detail?run=abc")
    assert NEXT_COOKIE not in client.cookies
    fresh = _client()
    fresh.get("/run_detail?run=abc")
    fresh.get("/")  # signing in from the home page goes home
    assert NEXT_COOKIE not in fresh.cookies
    off = _client(oidc=False)
    off.get("/run_detail?run=abc")
    assert NEXT_COOKIE not in off.cookies

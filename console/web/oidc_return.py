"""``OidcReturn``: with single sign-on, a shared link still lands where it pointed.

Streamlit's OIDC callback always sends the browser to ``/``. So when a browser with no
sign-in opens a page of the console (a link from a notification, say), the address it asked
for is kept in a short-lived cookie; when the provider's callback then signs it in, its
redirect goes to that address instead of ``/``, and the cookie is dropped. Only this
console's own paths are followed (``safe_next``); a callback that did not sign anyone in is
left alone. Password logins carry ``next`` through the login page instead
(``console.web.gate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection

from console.web.links import page_paths, safe_next

NEXT_COOKIE = "wb_oidc_next"
NEXT_TTL_S = 900
"""How long a kept address waits for the sign-in (the provider's login page is in between)."""
CALLBACK = "/oauth2callback"
SIGNED_IN = "_streamlit_user"
"""Streamlit's auth cookie (and the prefix of its chunks)."""


def _cookie(value: str, max_age: int) -> str:
    return f"{NEXT_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"


class OidcReturn:
    """ASGI middleware; does nothing unless ``oidc()`` says single sign-on is configured."""

    def __init__(self, app: Any, oidc: Callable[[], bool]) -> None:
        self.app = app
        self.oidc = oidc
        self.paths = page_paths()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Keep the address of a page opened before sign-in; follow it after the callback."""
        if scope["type"] != "http" or scope.get("method") != "GET" or not self.oidc():
            await self.app(scope, receive, send)
            return
        cookies = HTTPConnection(scope).cookies
        path = scope.get("path", "")
        if path == CALLBACK and NEXT_COOKIE in cookies:
            await self.app(
                scope, receive, _following(send, safe_next(unquote(cookies[NEXT_COOKIE])))
            )
            return
        signed_in = any(name.startswith(SIGNED_IN) for name in cookies)
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        if path in self.paths and not signed_in:
            if target != "/":  # kept for the callback
                cookie = _cookie(quote(target, safe=""), NEXT_TTL_S)
            elif NEXT_COOKIE in cookies:  # a sign-in from the home page goes home
                cookie = _cookie("", 0)
            else:
                cookie = ""
            if cookie:
                await self.app(scope, receive, _setting(send, cookie))
                return
        await self.app(scope, receive, send)


def _setting(send: Any, cookie: str) -> Any:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).append("set-cookie", cookie)
        await send(message)

    return wrapped


def _signs_in(set_cookie: str) -> bool:
    """Whether a ``Set-Cookie`` header sets Streamlit's auth cookie (not deletes it)."""
    name, _, rest = set_cookie.partition("=")
    value = rest.split(";", 1)[0].strip().strip('"')
    return name.strip().startswith(SIGNED_IN) and bool(value) and "max-age=0" not in rest.lower()


def _following(send: Any, target: str) -> Any:
    """The callback's response, sent to ``target`` if it signed the browser in."""

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            signs_in = any(_signs_in(value) for value in headers.getlist("set-cookie"))
            if message["status"] in (302, 303, 307) and signs_in:
                headers["location"] = target
                headers.append("set-cookie", _cookie("", 0))
        await send(message)

    return wrapped

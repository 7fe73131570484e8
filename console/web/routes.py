"""``GET /login``, ``POST /auth/session`` (log in), ``POST /auth/session/end`` (log out).

They live beside Streamlit, in the same ``st.App`` (Streamlit's own ``/auth/login`` and
``/auth/logout`` serve its OIDC path).

The session cookie is ``HttpOnly`` (no script, ours or injected, can read it),
``SameSite=Strict`` (no other site's page or link sends it) and scoped to the whole console, so
reloads, new tabs and shared links of the same browser stay signed in. It holds a random token;
Redis holds only the token's hash (``state.control.sessions``). Both POST routes accept only
requests whose ``Origin`` is the console's own (a foreign page cannot log a browser in or out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from console.origin import origin_allowed
from console.ui.guard import DOWN_ERRORS
from console.ui.handles import Handles, NotConfiguredError
from console.web.links import LOGIN_PATH, login_url, safe_next
from console.web.login_page import login_page
from console.web.logins import LoginOutcome, failure_message, log_in, throttle_address

COOKIE = "wb_session"
REDIS_DOWN = "Redis is unreachable: nobody can log in right now. Try again shortly."


@dataclass(frozen=True)
class WebConfig:
    """What the routes need from the process, each read when a request arrives."""

    handles: Callable[[], Handles]
    origins: Callable[[], frozenset[str]]
    oidc: Callable[[], bool]
    """True when logins go through the identity provider (``st.login``) instead."""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _forget_cookie(response: Response) -> Response:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def login_routes(config: WebConfig) -> list[Route]:
    """The routes, for ``st.App(routes=...)``."""

    async def show_login(request: Request) -> Response:
        return await _show_login(config, request)

    async def create_session(request: Request) -> Response:
        return await _create_session(config, request)

    async def end_session(request: Request) -> Response:
        return await _end_session(config, request)

    return [
        Route(LOGIN_PATH, show_login, methods=["GET"]),
        Route("/auth/session", create_session, methods=["POST"]),
        Route("/auth/session/end", end_session, methods=["POST"]),
    ]


async def _show_login(config: WebConfig, request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if config.oidc():
        return _see_other(target)  # the identity provider's login runs inside the app
    token = request.cookies.get(COOKIE)
    if token:
        try:
            live = await run_in_threadpool(lambda: config.handles().sessions.get(token))
        except (*DOWN_ERRORS, NotConfiguredError):
            live = None
        if live is not None:
            return _see_other(target)
        # A dead cookie (expired or revoked) is dropped; the user just logs in again.
        return _forget_cookie(login_page(target, info="Your session has ended: log in again."))
    return login_page(target)


async def _create_session(config: WebConfig, request: Request) -> Response:
    if config.oidc():
        return PlainTextResponse("Password logins are disabled (OIDC).", status_code=404)
    if not origin_allowed(request.headers.get("origin"), config.origins()):
        return PlainTextResponse("Forbidden: foreign origin.", status_code=403)
    form = await request.form()
    name, password = str(form.get("user") or ""), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    ip = throttle_address(request.client.host if request.client else None)
    try:
        outcome = await run_in_threadpool(_log_in, config, name, password, ip)
    except (*DOWN_ERRORS, NotConfiguredError):
        return login_page(target, user=name, error=REDIS_DOWN, status=503)
    if outcome.token is None:
        status = 429 if outcome.result.throttled else 401
        message = failure_message(outcome.result)
        return login_page(target, user=name, error=message, status=status)
    response = _see_other(target)
    response.set_cookie(
        COOKIE,
        outcome.token,
        max_age=config.handles().sessions.max_age_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def _end_session(config: WebConfig, request: Request) -> Response:
    if not origin_allowed(request.headers.get("origin"), config.origins()):
        return PlainTextResponse("Forbidden: foreign origin.", status_code=403)
    token = request.cookies.get(COOKIE)
    if token:
        try:
            await run_in_threadpool(_log_out, config, token)
        except (*DOWN_ERRORS, NotConfiguredError):
            pass  # the cookie is dropped anyway; the session ends at its expiry
    return _forget_cookie(_see_other(login_url("/")))


def _log_in(config: WebConfig, name: str, password: str, ip: str | None) -> LoginOutcome:
    h = config.handles()
    return log_in(h.users, h.cp.audit, h.sessions, name, password, ip)


def _log_out(config: WebConfig, token: str) -> None:
    h = config.handles()
    ended = h.sessions.revoke(token)
    if ended is not None:
        h.cp.audit.append(ended.user, "logout", ended.user, {"session": ended.id})

"""Who calls ``waybill a2a``: every JSON-RPC request carries a console user's API token.

``Authorization: Bearer <token>`` (issued by ``waybill user token NAME``) names the user a run
is started as (approver role at least: the run service checks it, and audits the start under
that user) and who may read tasks. A request without a token, or with a wrong or revoked one,
gets ``401`` and starts nothing; a wrong token is audited as ``denied``, within the rate per
minute of failed logins (anyone can send one: the log must not grow without bound). The cards
and the index stay public (``GET``): they describe the workflows, and say that calls need the
token.
"""

from __future__ import annotations

import asyncio

from a2a.server.context import ServerCallContext
from a2a.server.routes.common import DefaultServerCallContextBuilder
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from console.operator import token_principal
from console.web.logins import audit_bounded
from graph.runtime.principal import Principal
from state.control.plane import ControlPlane
from state.control.throttle import LoginThrottle

SCHEME = "bearer"
"""The name of the card's security scheme."""


class Caller(BaseUser):
    """An authenticated A2A caller: the console user its token belongs to."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:  # noqa: D102
        return True

    @property
    def display_name(self) -> str:  # noqa: D102
        return self.principal.name


class TokenBackend(AuthenticationBackend):
    """Checks the bearer token of every request but the public ``GET``s."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self.throttle = LoginThrottle(cp.client)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """The caller, or ``None`` for a public ``GET``.

        Raises:
            AuthenticationError: no bearer token, or one that names no console user.
        """
        if conn.scope.get("method") == "GET":
            return None
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "send a console user's API token: Authorization: Bearer <token> "
                "(an admin issues one with `waybill user token NAME`)"
            )
        found = await asyncio.to_thread(token_principal, self.cp, token, "a2a")
        if found is None:
            ip = conn.client.host if conn.client else None
            details = {"why": "invalid API token", "ip": ip}
            await asyncio.to_thread(
                audit_bounded, self.throttle, self.cp.audit, "a2a:token", "denied", "a2a", details
            )
            raise AuthenticationError("the API token was refused: invalid or revoked")
        who, _ = found
        return AuthCredentials([who.role]), Caller(who)


def refused(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """``401`` with a JSON-RPC error naming what is missing (nothing was started)."""
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": str(exc)}}
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


class CallerContext(DefaultServerCallContextBuilder):
    """The A2A call context, with the caller's principal in its state (``principal``)."""

    def build(self, request: Request) -> ServerCallContext:  # noqa: D102
        context = super().build(request)
        if isinstance(request.scope.get("user"), Caller):
            context.state["principal"] = request.user.principal
        return context


def caller_of(context: ServerCallContext | None) -> Principal | None:
    """The principal of an authenticated call, or ``None``."""
    who = context.state.get("principal") if context is not None else None
    return who if isinstance(who, Principal) else None

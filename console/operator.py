"""Who a protocol server acts as, from an API token (issued by ``waybill user token NAME``;
stored hashed, revocable).

:func:`token_principal` is the one place a token becomes a user: ``waybill mcp`` acts as the
user whose token is in ``WAYBILL_TOKEN`` (:func:`operator_principal`), exactly as the command
line does; ``waybill a2a`` authenticates each caller by the token it sends. The role is read
again before every operation (:func:`current`), so a user demoted or removed in the console,
or whose token was revoked, loses the rights at once.
"""

from __future__ import annotations

from graph.runtime.eligibility import roles_of
from graph.runtime.principal import Forbidden, Principal
from state.control.plane import ControlPlane
from state.errors import WaybillError
from state.settings import Settings


class OperatorAuthError(WaybillError):
    """The server's credentials do not name a console user (one line for the operator)."""


def token_principal(cp: ControlPlane, token: str, via: str) -> tuple[Principal, str] | None:
    """The console user ``token`` belongs to, with their role now, and the token's id; ``None``
    for a wrong, revoked or expired token (or a user removed since): the caller audits that."""
    info = cp.tokens.verify(token.strip())
    role = roles_of(cp, [info.user]).get(info.user) if info is not None else None
    if info is None or role is None:
        return None
    return Principal(info.user, role, via=f"{via} token {info.id}"), info.id


def operator_principal(cp: ControlPlane, settings: Settings, via: str) -> Principal:
    """The console user whose API token ``settings`` holds (audited either way).

    Raises:
        OperatorAuthError: no token, or a wrong or revoked one.
    """
    secret = settings.token
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token:
        raise OperatorAuthError(
            f"waybill {via} acts as a console user: set WAYBILL_TOKEN to their API token "
            "(an admin issues one with `waybill user token NAME`)"
        )
    found = token_principal(cp, token, via)
    if found is None:
        cp.audit.append(f"{via}:server", "denied", via, {"why": "invalid API token"})
        raise OperatorAuthError(
            f"WAYBILL_TOKEN was refused: invalid or revoked API token (waybill {via} not started)"
        )
    who, token_id = found
    cp.audit.append(who.name, "login", who.name, {"via": via, "token": token_id})
    return who


def current(cp: ControlPlane, who: Principal, token: str | None = None) -> Principal:
    """``who`` with the role the console gives them now; with ``token`` (the API token the
    server acts with), only while that token is live.

    Raises:
        Forbidden: the user was removed since the server started, or the token revoked.
    """
    if token is not None:
        found = token_principal(cp, token, "")
        if found is None or found[0].name != who.name:
            cp.audit.append(who.name, "denied", who.via, {"why": "API token revoked"})
            raise Forbidden(
                f"the API token {who.name!r} acts with was revoked (or {who.name!r} removed): "
                "nothing was done; start the server again with a live token"
            )
    role = roles_of(cp, [who.name]).get(who.name)
    if role is None:
        raise Forbidden(f"console user {who.name!r} no longer exists")
    return Principal(who.name, role, via=who.via)

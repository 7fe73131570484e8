"""Who a protocol server (``waybill mcp``, ``waybill a2a``) acts as: one console user.

:func:`operator_principal` is the one place such a server authenticates: with the API token in
``WAYBILL_TOKEN`` (issued by ``waybill user token NAME``; stored hashed, revocable), exactly as
the command line does. The role is read again before every operation (:func:`current`), so a
user demoted or removed in the console, or whose token was revoked, loses the rights at once.
"""

from __future__ import annotations

from graph.runtime.eligibility import roles_of
from graph.runtime.principal import Forbidden, Principal
from state.control.plane import ControlPlane
from state.errors import WaybillError
from state.settings import Settings


class OperatorAuthError(WaybillError):
    """The server's credentials do not name a console user (one line for the operator)."""


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
    info = cp.tokens.verify(token)
    role = roles_of(cp, [info.user]).get(info.user) if info is not None else None
    if info is None or role is None:
        cp.audit.append(f"{via}:server", "denied", via, {"why": "invalid API token"})
        raise OperatorAuthError(
            f"WAYBILL_TOKEN was refused: invalid or revoked API token (waybill {via} not started)"
        )
    cp.audit.append(info.user, "login", info.user, {"via": via, "token": info.id})
    return Principal(info.user, role, via=f"{via} token {info.id}")


def current(cp: ControlPlane, who: Principal) -> Principal:
    """``who`` with the role the console gives them now.

    Raises:
        Forbidden: the user was removed since the server started.
    """
    role = roles_of(cp, [who.name]).get(who.name)
    if role is None:
        raise Forbidden(f"console user {who.name!r} no longer exists")
    return Principal(who.name, role, via=who.via)

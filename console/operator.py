"""Who a protocol server (``waybill mcp``, ``waybill a2a``) acts as: one console user.

:func:`operator_principal` is the one place such a server authenticates. Today it checks
``WAYBILL_USER`` / ``WAYBILL_PASSWORD`` against the console's users (scrypt hashes, with the
login throttle, audited like a console login); when console users get API tokens, this is the
function to point at them. The role is read again before every operation (:func:`current`), so
a user demoted or removed in the console loses the rights at once.
"""

from __future__ import annotations

from graph.runtime.principal import Forbidden, Principal
from state.control.plane import ControlPlane
from state.control.users import UserStore
from state.errors import WaybillError
from state.settings import Settings


class OperatorAuthError(WaybillError):
    """The server's credentials do not name a console user (one line for the operator)."""


def operator_principal(cp: ControlPlane, settings: Settings, via: str) -> Principal:
    """The console user ``settings`` names, once their password checked (throttled, audited).

    Raises:
        OperatorAuthError: no credentials, a wrong password, or too many recent failures.
    """
    if not settings.user or settings.password is None:
        raise OperatorAuthError(
            f"waybill {via} acts as a console user: set WAYBILL_USER and WAYBILL_PASSWORD "
            "(add one with `waybill user add NAME --role viewer|approver|admin`)"
        )
    result = UserStore(cp.client).login(settings.user, settings.password.get_secret_value())
    if result.user is None:
        cp.audit.append(settings.user[:64], "login.failed", settings.user[:64], {"via": via})
        wait = f"; retry in {result.retry_after_s:.0f} s" if result.retry_after_s else ""
        raise OperatorAuthError(
            f"WAYBILL_USER/WAYBILL_PASSWORD were refused for {settings.user!r} "
            f"(no such user or a wrong password{wait})"
        )
    cp.audit.append(result.user.name, "login", result.user.name, {"via": via})
    return Principal(result.user.name, result.user.role)


def current(cp: ControlPlane, who: Principal) -> Principal:
    """``who`` with the role the console gives them now.

    Raises:
        Forbidden: the user was removed since the server started.
    """
    user = UserStore(cp.client).get(who.name)
    if user is None:
        raise Forbidden(f"console user {who.name!r} no longer exists")
    return Principal(user.name, user.role)

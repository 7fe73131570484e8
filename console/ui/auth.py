"""Who is using the console: password login (or OIDC via ``st.login``) and the session's user.

The session keeps only the user's *name* (under a key no widget uses). The role is re-read from
the user store on every page view, so a role change or removal takes effect at once, and every
action checks it again on the server (``console.ui.actions``) before calling the run service.

OIDC: when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``
configuration), the console signs users in with the identity provider instead of passwords; the
role then comes from the user store, found by the signed-in e-mail (``waybill user add EMAIL
--role ROLE --no-password``). An e-mail with no user gets no access.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from console.ui.handles import Handles
from graph.runtime.principal import Principal
from state.control.users import LoginResult, User

SESSION_USER = "_wb_user"


def oidc_configured() -> bool:
    """True when Streamlit's ``st.login`` is configured (an ``[auth]`` secrets section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than returning False
        return False


def client_ip() -> str | None:
    """The browser's address as Streamlit sees it (``None`` in AppTest)."""
    try:
        ip = st.context.ip_address
    except Exception:
        return None
    return str(ip) if ip else None


def attempt_login(h: Handles, name: str, password: str) -> LoginResult:
    """Check a password login (throttled); on success the session is signed in and audited.

    Anyone can fail a login, so failures must not grow the audit log without bound: an
    attempt refused by the throttle is not audited (it was not checked), and checked failures
    are audited up to a rate per minute, then one "paused" entry stands for the rest.
    """
    name = name.strip()
    result = h.users.login(name, password, client_ip())
    if result.user is not None:
        st.session_state[SESSION_USER] = result.user.name
        h.cp.audit.append(result.user.name, "login", result.user.name, {"ip": client_ip()})
        return result
    if result.throttled:
        return result
    verdict = h.users.throttle.audit_failure()
    # An invented name is only evidence of guessing; keep it short in the log.
    who = name[:64] or "<empty>"
    if verdict == "entry":
        details: dict[str, Any] = {"ip": client_ip(), "retry_after_s": result.retry_after_s}
        h.cp.audit.append(who, "login.failed", who, details)
    elif verdict == "pause":
        limit = h.users.throttle.audit_per_minute
        h.cp.audit.append(
            "system:login-throttle",
            "login.failed.audit_paused",
            "*",
            {"per_minute": limit, "note": "further failed logins this minute are not audited"},
        )
    return result


def logout(h: Handles | None = None) -> None:
    """Forget the session's user (and sign out of the identity provider when used)."""
    name = st.session_state.pop(SESSION_USER, None)
    if h is not None and name:
        h.cp.audit.append(str(name), "logout", str(name), {})
    if oidc_configured():
        st.logout()


def _oidc_user(h: Handles) -> User | None:
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    return h.users.find_by_email(email) if email else None


def current_user(h: Handles) -> User | None:
    """The signed-in user with their current role, or ``None``."""
    if oidc_configured():
        return _oidc_user(h)
    name = st.session_state.get(SESSION_USER)
    if not name:
        return None
    user = h.users.get(str(name))
    if user is None:  # removed since signing in
        st.session_state.pop(SESSION_USER, None)
    return user


def principal_of(user: User) -> Principal:
    """The run service's view of a user."""
    return Principal(user.name, user.role)

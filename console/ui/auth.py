"""Who is using the console: the session behind the browser's cookie (or OIDC via ``st.login``).

Password logins happen outside Streamlit (``console.web``: ``POST /auth/session`` sets an
HttpOnly cookie holding a session token). Every run of the app reads the cookie
(``st.context.cookies``, sent with the websocket's opening request) and looks the session up in
Redis, so a logout or an expiry in any tab ends the session everywhere at the next run. The role
is re-read from the user store each time, so a role change or removal takes effect at once, and
every action checks it again on the server (``console.ui.actions``) before calling the run
service.

OIDC: when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's ``st.login``
configuration), the console signs users in with the identity provider instead of passwords; the
role then comes from the user store, found by the signed-in e-mail (``waybill user add EMAIL
--role ROLE --no-password``). An e-mail with no user gets no access. Each sign-in at the provider
is audited once (``login`` via ``oidc``), keyed by its ID token's nonce.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from console.ui.handles import Handles
from console.web.routes import COOKIE
from graph.runtime.principal import Principal
from state.control.users import User
from state.keys import global_key

SESSION_TOKEN = "_wb_session"  # noqa: S105 - a key name, not a secret
"""Session-state key of a token when no cookie carries one: AppTest cannot send cookies, so the
page tests put the token of a real session here. No widget uses this key."""


def oidc_configured() -> bool:
    """True when Streamlit's ``st.login`` is configured (an ``[auth]`` secrets section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than returning False
        return False


def session_token() -> str | None:
    """The session token of this browser: its cookie, else the session state's (tests)."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # outside a browser session: no cookies
        token = None
    if not isinstance(token, str) or not token:  # AppTest's client has no real cookies
        token = st.session_state.get(SESSION_TOKEN)
    return token if isinstance(token, str) and token else None


_SIGNED_IN = "_wb_oidc_sign_in"
"""Session-state key of the sign-in this browser session already checked."""
SIGN_IN_KEPT_S = 7 * 24 * 3600
"""How long a sign-in's nonce is remembered (longer than Streamlit's auth cookie lives)."""


def _oidc_user(h: Handles) -> User | None:
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    user = h.users.find_by_email(email) if email else None
    if user is not None:
        _audit_sign_in(h, user.name, email)
    return user


def _audit_sign_in(h: Handles, name: str, email: str) -> None:
    """Audit a sign-in at the identity provider once, however many pages it then serves."""
    claims = "|".join(str(st.user.get(k) or "") for k in ("iss", "sub", "nonce", "iat"))
    once = global_key("oidc-sign-in", hashlib.sha256(claims.encode()).hexdigest())
    if st.session_state.get(_SIGNED_IN) == once:  # this browser session saw it: no write
        return
    if h.cp.client.set(once, email, nx=True, ex=SIGN_IN_KEPT_S):
        h.cp.audit.append(name, "login", name, {"via": "oidc", "email": email})
    st.session_state[_SIGNED_IN] = once


def current_user(h: Handles, *, activity: bool = True) -> User | None:
    """The signed-in user with their current role, or ``None`` (no, expired or revoked session).

    ``activity=False`` (a background refresh) does not count as use of the session.
    """
    if oidc_configured():
        return _oidc_user(h)
    session = h.sessions.get(session_token(), touch=activity)
    if session is None:
        return None
    return h.users.get(session.user)  # None when removed since signing in


def principal_of(user: User) -> Principal:
    """The run service's view of a user (signed in to the console)."""
    return Principal(user.name, user.role, via="console")

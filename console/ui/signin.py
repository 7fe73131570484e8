"""What the app shows instead of a page when nobody is signed in (or the session has ended).

Browsers loading a page without a live session never get here: the session gate
(``console.web.gate``) sends them to the login page first. This covers a session that ends
while a tab is open (logout elsewhere, expiry): the tab offers the login page, which brings the
user back to the page they were on. With OIDC configured, the identity provider's sign-in.
"""

from __future__ import annotations

from html import escape

import streamlit as st

from console.ui import auth
from console.ui.handles import get_handles
from console.web.links import login_url

BUTTON = (
    "display:inline-block;padding:.45rem 1rem;border-radius:.5rem;background:#ff4b4b;"
    "color:#fff;text-decoration:none;font-weight:600"
)
LOGOUT_FORM = (
    '<form method="post" action="/auth/session/end" style="margin:0">'
    '<button type="submit" style="padding:.3rem .9rem;border:1px solid #d1d5db;'
    'border-radius:.5rem;background:#fff;cursor:pointer">Log out</button></form>'
)


def show_login(next_url: str) -> None:
    """The way back in, returning to ``next_url`` (this page, with its query)."""
    st.title("📦 Waybill console")
    if auth.oidc_configured():
        _oidc()
        return
    st.info("You are not logged in, or your session has ended.")
    # Our own link (escaped), in the same tab: the login page sets the cookie, then comes back.
    st.html(f'<a href="{escape(login_url(next_url))}" style="{BUTTON}">Log in</a>')


def logout_control() -> None:
    """The sidebar's "Log out": a form posting to ``/auth/session/end`` (ends the session, drops
    the cookie); with OIDC, Streamlit's ``st.logout``."""
    if auth.oidc_configured():
        st.button("Log out", key="logout", on_click=_oidc_logout)
    else:
        st.html(LOGOUT_FORM)


def _oidc_logout() -> None:
    email = str(st.user.get("email") or "") if st.user.is_logged_in else ""
    if email:
        h = get_handles()
        user = h.users.find_by_email(email)
        name = user.name if user is not None else email  # audited under the console name
        h.cp.audit.append(name, "logout", name, {"via": "oidc", "email": email})
    st.logout()


def _oidc() -> None:
    if st.user.is_logged_in:
        st.error(
            "Your account has no access to this console yet: ask an admin to run "
            "`waybill user add <your e-mail> --role viewer --no-password`."
        )
        st.button("Log out", on_click=st.logout)
    else:
        st.button("Log in with your identity provider", on_click=st.login, type="primary")

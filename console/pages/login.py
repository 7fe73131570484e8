"""Log in: a password form, or the identity provider's sign-in when OIDC is configured."""

from __future__ import annotations

import streamlit as st

from console.ui import auth
from console.ui.guard import redis_guard
from console.ui.handles import get_handles


def _oidc() -> None:
    if st.user.is_logged_in:
        st.error(
            "Your account has no access to this console yet: ask an admin to run "
            "`waybill user add <your e-mail> --role viewer --no-password`."
        )
        st.button("Log out", on_click=st.logout)
    else:
        st.button("Log in with your identity provider", on_click=st.login, type="primary")


def _password() -> None:
    with st.form("login"):
        name = st.text_input("User")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    result = auth.attempt_login(get_handles(), name, password)
    if result.user is not None:
        st.rerun()
    elif result.throttled:
        st.error(
            f"Too many failed attempts: try again in {result.retry_after_s:.0f} s "
            "(the password was not checked)."
        )
    else:
        wait = (
            f" Wait {result.retry_after_s:.0f} s before the next try."
            if result.retry_after_s
            else ""
        )
        st.error("Wrong user name or password." + wait)


def main() -> None:
    st.title("📦 Waybill console")
    with redis_guard():
        if auth.oidc_configured():
            _oidc()
        else:
            _password()
    st.caption("No account? An admin adds one with `waybill user add NAME --role ROLE`.")


main()

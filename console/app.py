"""The Waybill oversight console (Streamlit): the pages behind ``console/asgi.py``.

Started by ``waybill up`` / ``waybill console`` (bound to 127.0.0.1, Redis URL in REDIS_URL) as
``streamlit run console/asgi.py``, which adds the websocket origin guard.
Every page is a file under ``console/pages``; their logic lives in ``console/ui``.
"""

from __future__ import annotations

import streamlit as st

from console.ui import auth
from console.ui.guard import DOWN_ERRORS, redis_guard
from console.ui.handles import get_handles
from state.control.users import User

PAGES = {
    "Watch": [
        ("pages/overview.py", "Overview"),
        ("pages/runs.py", "Runs"),
        ("pages/run_detail.py", "Run detail"),
    ],
    "Act": [
        ("pages/inbox.py", "Escalations"),
        ("pages/start.py", "Start a run"),
        ("pages/kills.py", "Kill switches"),
    ],
    "Govern": [
        ("pages/audit.py", "Audit log"),
        ("pages/users.py", "Users"),
    ],
}


def _sidebar(user: User) -> None:
    with st.sidebar:
        st.caption("Signed in as")
        st.text(f"{user.name} ({user.role})")
        st.button("Log out", key="logout", on_click=_logout)


def _logout() -> None:
    try:
        h = get_handles()
    except DOWN_ERRORS:
        h = None  # forget the session anyway; the audit entry is lost with Redis down
    auth.logout(h)


def main() -> None:
    st.set_page_config(page_title="Waybill console", page_icon="📦", layout="wide")
    user = None
    with redis_guard():
        user = auth.current_user(get_handles())
    if user is None:
        login = st.Page("pages/login.py", title="Log in", default=True)
        st.navigation([login], position="hidden").run()
        return
    nav = {
        section: [
            st.Page(path, title=title, default=(path == "pages/overview.py"))
            for path, title in pages
            if path != "pages/users.py" or user.role == "admin"
        ]
        for section, pages in PAGES.items()
    }
    page = st.navigation(nav)
    _sidebar(user)
    page.run()


main()

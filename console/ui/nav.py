"""The sidebar: the pages by section, the live count of pending escalations, who is signed in.

Streamlit's own navigation menu is hidden (``st.navigation(..., position="hidden")``) and drawn
here with ``st.page_link``, so that the Escalations entry can carry a count that refreshes on its
own. The same fragment re-checks the session: a logout in another tab, or an expiry, shows the
login prompt within one tick.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from console.ui import auth, signin
from console.ui.guard import DOWN_ERRORS
from console.ui.handles import get_handles
from console.web.links import ADMIN_PAGES
from state.control.users import User

BADGE_S = 3


def pending_count() -> int | None:
    """Pending escalations now (``None`` when Redis cannot say)."""
    try:
        return get_handles().cp.escalations.count_pending()
    except DOWN_ERRORS:
        return None


def inbox_label(count: int | None) -> str:
    """The Escalations entry: its title and a badge with the pending count."""
    if count is None:
        return "Escalations :gray-badge[?]"
    colour = "red" if count else "gray"
    return f"Escalations :{colour}-badge[{count} pending]"


@st.fragment(run_every=BADGE_S)
def _inbox_entry(page: StreamlitPage) -> None:
    try:
        still_in = auth.current_user(get_handles(), activity=False) is not None
    except DOWN_ERRORS:
        still_in = True  # the page's banner says Redis is down; keep the tab as it is
    if not still_in:
        st.rerun(scope="app")
    with st.container(key="nav-inbox"):
        st.page_link(page, label=inbox_label(pending_count()))


def sidebar(user: User, pages: dict[str, list[tuple[str, StreamlitPage]]]) -> None:
    """Draw the sidebar for ``user``; ``pages`` maps sections to ``(name, page)``."""
    with st.sidebar:
        for section, entries in pages.items():
            st.caption(section)
            for name, page in entries:
                if name in ADMIN_PAGES and user.role != "admin":
                    continue
                if name == "inbox":
                    _inbox_entry(page)
                else:
                    with st.container(key=f"nav-{name}"):
                        st.page_link(page, label=page.title)
        st.divider()
        st.caption("Signed in as")
        st.text(f"{user.name} ({user.role})")
        signin.logout_control()

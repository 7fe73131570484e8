"""The Waybill oversight console (Streamlit): the pages behind ``console/asgi.py``.

Started by ``waybill up`` / ``waybill console`` (bound to 127.0.0.1, Redis URL in REDIS_URL) as
``streamlit run console/asgi.py``, which adds the login routes, the session gate and the
websocket origin guard. Every page is a file under ``console/screens`` and has an address
(``/inbox``, ``/run_detail?run=ID``, ...) that works as a shared link; their logic lives in
``console/ui``. (The folder is not called ``pages/``: next to the main script Streamlit takes that
name for a v1 multipage app and, on a process's first run, would run a deep-linked page file
directly, without this script's session check and navigation.)
"""

from __future__ import annotations

import streamlit as st

from console.ui import auth, nav, signin
from console.ui.guard import redis_guard, show_outage
from console.ui.handles import get_handles
from console.web.links import DEFAULT_PAGE, PAGES, page_file, page_url


def main() -> None:
    """Register every page, then show the one asked for, or the login prompt on its address
    when nobody is signed in."""
    st.set_page_config(page_title="Waybill console", page_icon="📦", layout="wide")
    user, checked = None, False
    if not show_outage():  # a click just met Redis down: say so now, not after another timeout
        with redis_guard():
            user = auth.current_user(get_handles())
            checked = True
    # Every page is registered whoever asks, so a deep link is never "Page not found": a user
    # without a session gets the login prompt on that address, and comes back to it.
    pages = {
        section: [
            (name, st.Page(page_file(name), title=title, default=name == DEFAULT_PAGE))
            for name, title in entries
        ]
        for section, entries in PAGES.items()
    }
    page = st.navigation(
        {section: [p for _, p in entries] for section, entries in pages.items()},
        position="hidden",
    )
    if user is None:
        if checked:
            signin.show_login(page_url(page.url_path, st.query_params.to_dict()))
        return
    nav.sidebar(user, pages)
    page.run()


main()

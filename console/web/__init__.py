"""The console's own HTTP routes beside Streamlit: login, logout, and the session gate.

``console/asgi.py`` mounts them on the ``st.App``. A login creates a server-side session
(``state.control.sessions``) and hands the browser its token in an HttpOnly, SameSite=Strict
cookie; the gate sends a browser without a live session to the login page, which brings it back
to the address it asked for.
"""

"""The console as an ASGI app: Streamlit's UI behind the websocket origin guard.

``streamlit run console/asgi.py`` finds ``app`` (an ``st.App``) and serves it with uvicorn; the
pages are still ``console/app.py``'s. ``console.launch`` starts it this way.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from console.origin import OriginGuard, allowed_origins


def configured_origins() -> frozenset[str]:
    """The console's own origins, from the running server's Streamlit configuration."""
    return allowed_origins(
        str(st.get_option("server.address") or ""),
        int(st.get_option("server.port")),
        st.get_option("server.corsAllowedOrigins") or (),
    )


# Module level because Streamlit discovers the app by this name when it runs the file.
app = st.App(
    Path(__file__).resolve().parent / "app.py",
    middleware=[Middleware(OriginGuard, origins=configured_origins)],
)

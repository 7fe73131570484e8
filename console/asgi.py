"""The console as an ASGI app: Streamlit's UI plus the login routes, behind two guards.

``streamlit run console/asgi.py`` finds ``app`` (an ``st.App``) and serves it with uvicorn; the
pages are still ``console/app.py``'s. ``console.launch`` starts it this way. Around the app:
``OriginGuard`` (a websocket only from the console's own origin) and ``SessionGate`` (a page
only with a live session, otherwise the login page) and ``OidcReturn`` (with single sign-on, a
page opened before sign-in is where the provider's callback lands); beside it, ``GET /login``,
``POST /auth/session`` and ``POST /auth/session/end`` (``console.web.routes``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from console.origin import OriginGuard, allowed_origins
from console.ui.auth import oidc_configured
from console.ui.handles import get_handles
from console.web.gate import SessionGate
from console.web.oidc_return import OidcReturn
from console.web.routes import WebConfig, login_routes


def configured_origins() -> frozenset[str]:
    """The console's own origins, from the running server's Streamlit configuration."""
    return allowed_origins(
        str(st.get_option("server.address") or ""),
        int(st.get_option("server.port")),
        st.get_option("server.corsAllowedOrigins") or (),
    )


WEB = WebConfig(handles=get_handles, origins=configured_origins, oidc=oidc_configured)

# Module level because Streamlit discovers the app by this name when it runs the file.
app = st.App(
    Path(__file__).resolve().parent / "app.py",
    routes=login_routes(WEB),
    middleware=[
        Middleware(OriginGuard, origins=configured_origins),
        Middleware(SessionGate, config=WEB),
        Middleware(OidcReturn, oidc=oidc_configured),
    ],
)

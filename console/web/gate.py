"""``SessionGate``: a browser asking for a page without a live session goes to the login page.

Only page addresses (``/``, ``/inbox``, ``/run_detail``, ...) are gated, so the login page, its
routes, Streamlit's assets and health check are not. The address asked for, query included,
comes back as ``next``, so a shared link lands where it pointed once the user has logged in.
The gate saves a round of "Page not found" and an empty app; the app itself still checks the
session on every run (a websocket can be opened without loading a page).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse

from console.ui.guard import DOWN_ERRORS
from console.ui.handles import NotConfiguredError
from console.web.links import login_url, page_paths
from console.web.routes import COOKIE, WebConfig


class SessionGate:
    """ASGI middleware; pages pass when the session cookie names a live session.

    When Redis cannot be reached the request passes too: the app then shows its Redis banner
    and still lets nobody in.
    """

    def __init__(self, app: Any, config: WebConfig) -> None:
        self.app = app
        self.config = config
        self.paths = page_paths()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Redirect a page request without a live session to the login page; pass the rest on."""
        if (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and scope.get("path") in self.paths
            and not self.config.oidc()
            and not await run_in_threadpool(self._allowed, scope)
        ):
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            response = RedirectResponse(
                login_url(target), status_code=303, headers={"Cache-Control": "no-store"}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: dict[str, Any]) -> bool:
        token = HTTPConnection(scope).cookies.get(COOKIE)
        if not token:
            return False
        try:
            return self.config.handles().sessions.get(token) is not None
        except (*DOWN_ERRORS, NotConfiguredError):
            return True

"""Which web pages may talk to the console: its own origin, exactly (scheme, host and port).

Streamlit's own websocket check compares host names only, so a page served from any port of
localhost (another local program, a dev server) could open the console's websocket in the
user's browser and act with their session. ``OriginGuard`` is an ASGI middleware that refuses
(HTTP 403, before Streamlit sees it) every websocket whose ``Origin`` is not one of
:func:`allowed_origins`; a websocket without an ``Origin`` is refused too, since every browser
sends one. Plain HTTP requests pass through: Streamlit's XSRF protection covers its uploads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost")
ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 - names, not a bind


def http_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets (``http://[::1]:8501``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def allowed_origins(address: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The origins the console answers: ``http://<address>:<port>`` (and both loopback names).

    Args:
        address: The bind address (``server.address``). Loopback, or every interface, means
            the loopback names; other names a browser uses must come in ``extra``.
        port: The console's port.
        extra: Further exact origins (``WAYBILL_CONSOLE_ORIGINS``, e.g. a reverse proxy's).
    """
    local = address in (*LOOPBACK, "::1", *ANY_ADDRESS)
    hosts = set(LOOPBACK) if local else {address}
    origins = {http_url(host, port) for host in hosts}
    origins |= {o.strip().rstrip("/").lower() for o in extra if o.strip()}
    return frozenset(o.lower() for o in origins)


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    """True when ``origin`` (a browser's ``Origin`` header) is exactly one of ``allowed``."""
    return origin is not None and origin.strip().rstrip("/").lower() in allowed


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class OriginGuard:
    """ASGI middleware: a websocket from a foreign origin is refused with 403.

    Args:
        app: The wrapped ASGI app.
        origins: Returns the allowed origins; called per websocket, so it sees the port the
            server actually bound.
    """

    def __init__(self, app: Any, origins: Callable[[], frozenset[str]]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Close a websocket handshake from a foreign origin (403); pass everything else on."""
        if scope["type"] == "websocket" and not origin_allowed(
            _header(scope, b"origin"), self.origins()
        ):
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

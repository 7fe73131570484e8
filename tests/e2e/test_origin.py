"""The console's websocket talks only to pages of its own origin (scheme, host and port).

A page on another port of localhost (any local program, a dev server) must not be able to open
the console's websocket in the user's browser and act with their session.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.e2e.conftest import Stack
from tests.redis_servers import free_port

pytestmark = pytest.mark.e2e


def _ws_url(stack: Stack) -> str:
    return "ws://" + urlsplit(stack.url).netloc + "/_stcore/stream"


def _handshake(stack: Stack, origin: str | None) -> int:
    """The HTTP status the console answers a websocket handshake with."""
    try:
        sent = Origin(origin) if origin is not None else None
        with connect(_ws_url(stack), origin=sent, open_timeout=10) as ws:
            assert ws.response is not None
            return int(ws.response.status_code)
    except InvalidStatus as exc:
        return int(exc.response.status_code)


def test_own_origin_is_accepted(stack: Stack) -> None:
    port = urlsplit(stack.url).port
    assert _handshake(stack, stack.url) == 101
    assert _handshake(stack, f"http://localhost:{port}") == 101


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:9",
        "http://127.0.0.1:9",
        "https://127.0.0.1:{port}",
        "http://evil.example:{port}",
        "null",
        None,
    ],
)
def test_foreign_origin_is_refused(stack: Stack, origin: str | None) -> None:
    port = urlsplit(stack.url).port
    assert _handshake(stack, origin.format(port=port) if origin else None) == 403


ATTACK = """<!doctype html><title>other local app</title><script>
const ws = new WebSocket("{ws}");
ws.onopen = () => {{ document.title = "opened"; }};
ws.onerror = () => {{ document.title = "refused"; }};
</script>"""


@contextlib.contextmanager
def _page_server(html: str) -> Iterator[str]:
    """Serve ``html`` from another port of 127.0.0.1 (another local program's page)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_local_port_cannot_open_the_websocket(page: Page, stack: Stack) -> None:
    with _page_server(ATTACK.format(ws=_ws_url(stack))) as url:
        page.goto(url)
        page.wait_for_function("document.title !== 'other local app'", timeout=10_000)
        assert page.title() == "refused"

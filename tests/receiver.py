"""A real HTTP receiver for webhooks, started by a test on a free loopback port.

It records every request (headers and body) and answers 200, or a chosen status. Tests read
``received`` (thread-safe) and verify signatures with ``graph.runtime.webhooks.verify``, as a
real receiver would.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    """``with Receiver() as r:`` serves ``r.url`` until the block ends."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self._lock = threading.Lock()
        self._received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver._received.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def events(self, kind: str) -> list[Received]:
        """The requests whose ``X-Waybill-Event`` is ``kind``."""
        return [r for r in self.received if r.headers.get("X-Waybill-Event") == kind]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

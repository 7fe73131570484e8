"""A local OpenAI-compatible chat server for tests: real HTTP, scripted answers, no network.

It answers ``POST /v1/chat/completions`` the way the OpenAI API does (a tool call, a plain
reply, an error status, a slow answer), so a test drives the real provider client -- request
building, HTTP, retries, timeouts, tool-call parsing, token usage -- on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """A 200 answer calling the tool the request bound, with these arguments.

    ``args`` as a dict is sent as JSON; as a str it is sent as given (e.g. broken JSON).
    """

    args: dict[str, Any] | str
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass(frozen=True)
class Text:
    """A 200 answer with plain text and no tool call."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass(frozen=True)
class Status:
    """An error answer, e.g. a 429 with a short ``retry-after-ms`` the client honours."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Slow:
    """No answer for ``seconds`` (or until the server stops), then ``then``."""

    seconds: float
    then: ToolCall | Text | None = None


Reply = ToolCall | Text | Status | Slow
Responder = Callable[[dict[str, Any]], Reply]
"""Computes a reply from the request's JSON body."""


def bound_tool(body: dict[str, Any]) -> str:
    """The name of the tool a request asks the model to call (its first tool)."""
    tools = body.get("tools") or [{"function": {"name": ""}}]
    name: str = tools[0]["function"]["name"]
    return name


def _completion(body: dict[str, Any], reply: ToolCall | Text) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(reply, Text):
        message["content"] = reply.content
        finish = "stop"
    else:
        arguments = reply.args if isinstance(reply.args, str) else json.dumps(reply.args)
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": bound_tool(body), "arguments": arguments},
            }
        ]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


class OpenAIServer:
    """The server: answers from ``script`` in order, then from ``responder``.

    Every request body is kept in ``requests`` (a 429 that the client retried counts too).
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.script: list[Reply] = []
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL a client is given (``.../v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # releases slow answers at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.script:
                return self.script.pop(0)
        if self.responder is None:
            return Status(500)
        return self.responder(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; the requests are kept in `requests`

            def _send(self, code: int, data: dict[str, Any], headers: dict[str, str]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                reply = server._next(body)
                if isinstance(reply, Slow):
                    server._stopping.wait(reply.seconds)
                    if reply.then is None or server._stopping.is_set():
                        return
                    reply = reply.then
                try:
                    if isinstance(reply, Status):
                        error = {"message": f"scripted {reply.code}", "type": "test"}
                        self._send(reply.code, {"error": error}, reply.headers)
                    else:
                        self._send(200, _completion(body, reply), {})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): what a slow provider sees too

        return Handler


@contextmanager
def openai_server(responder: Responder | None = None) -> Iterator[OpenAIServer]:
    """A started :class:`OpenAIServer`, stopped on exit."""
    server = OpenAIServer(responder)
    server.start()
    try:
        yield server
    finally:
        server.stop()

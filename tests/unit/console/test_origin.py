"""Which origins may open the console's websocket (the pure part of ``console.origin``)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from console.launch import console_command
from console.origin import OriginGuard, allowed_origins, origin_allowed


def test_loopback_console_allows_both_loopback_names_on_its_own_port_only() -> None:
    allowed = allowed_origins("127.0.0.1", 8501)
    assert allowed == {"http://127.0.0.1:8501", "http://localhost:8501"}
    assert origin_allowed("http://localhost:8501", allowed)
    assert origin_allowed("HTTP://LOCALHOST:8501/", allowed)
    for foreign in ("http://localhost:8502", "http://127.0.0.1", "https://127.0.0.1:8501", None):
        assert not origin_allowed(foreign, allowed), foreign


def test_other_address_and_extra_origins() -> None:
    allowed = allowed_origins("10.0.0.5", 80, ["https://ops.example/", " "])
    assert allowed == {"http://10.0.0.5:80", "https://ops.example"}


def test_every_interface_means_the_loopback_names_plus_configured_origins() -> None:
    every = "0.0.0.0"  # noqa: S104 - a value under test, nothing binds to it
    allowed = allowed_origins(every, 8501, ["https://ops.example"])
    assert allowed == {"http://127.0.0.1:8501", "http://localhost:8501", "https://ops.example"}
    cmd = console_command(every, 8501, ["https://ops.example"])
    assert "--server.allowedHosts=ops.example" in cmd


def _handshake(origin: bytes | None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    reached: list[bool] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = OriginGuard(inner, origins=lambda: allowed_origins("127.0.0.1", 8501))
    headers = [(b"origin", origin)] if origin is not None else []
    # On a thread of its own: a browser test run before this one may leave a loop running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run, guard({"type": "websocket", "headers": headers}, None, send)
        ).result()
    return sent if not reached else [{"type": "passed"}]


def test_guard_closes_foreign_websockets_before_the_app_sees_them() -> None:
    assert _handshake(b"http://127.0.0.1:8501") == [{"type": "passed"}]
    assert _handshake(b"http://localhost:9999") == [{"type": "websocket.close", "code": 1008}]
    assert _handshake(None) == [{"type": "websocket.close", "code": 1008}]


def test_launch_keeps_streamlit_checks_on_and_serves_the_guarded_app() -> None:
    cmd = console_command("127.0.0.1", 8600)
    assert cmd[4].endswith("console/asgi.py")
    assert "--server.enableCORS=true" in cmd
    assert "--server.enableXsrfProtection=true" in cmd
    assert "--server.corsAllowedOrigins=http://127.0.0.1:8600" in cmd
    assert "--server.allowedHosts=localhost" in cmd

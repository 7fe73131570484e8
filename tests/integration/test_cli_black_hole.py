"""The command line against a Redis that accepts connections and never answers (a black hole:
a stopped server, a wedged proxy): one line naming the URL, a non-zero exit, within seconds."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import pytest

from tests.integration.cli_here import Ran
from tests.integration.runtime import ROOT, worker_env
from tests.integration.test_cli_errors import one_line
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration

BOUND_S = 15.0
"""How long a command may take to give up: the startup check waits ~3 s for a reply, not the
30 s (retried) of normal commands. A bound on a failure path, not a benchmark."""


class BlackHole:
    """A TCP listener on a free loopback port that accepts every connection, reads nothing
    and never replies."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.1)  # (a close does not wake a blocked accept)
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._closing = threading.Event()
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(conn)

    def url(self, userinfo: str = "") -> str:
        return f"redis://{userinfo}127.0.0.1:{self.port}/0"

    def close(self) -> None:
        self._closing.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def _timed(env: dict[str, str], *commands: tuple[str, ...]) -> list[tuple[Ran, float]]:
    """Each ``waybill COMMAND``, all at once, and how long each took; one still running after
    twice the bound is stopped and fails the test (the stall this guards against lasted
    minutes)."""
    started = time.monotonic()
    argv = [sys.executable, "-m", "console.cli"]
    running = [
        subprocess.Popen([*argv, *c], env=env, cwd=ROOT, stdout=PIPE, stderr=PIPE, text=True)
        for c in commands
    ]
    out: list[tuple[Ran, float]] = []
    for command, process in zip(commands, running, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=2 * BOUND_S)
        except subprocess.TimeoutExpired:
            for p in running:
                p.kill()
            pytest.fail(f"waybill {' '.join(command)} was still waiting after {2 * BOUND_S:g}s")
        out.append((Ran(process.returncode, stdout, stderr), time.monotonic() - started))
    return out


COMMANDS = [("runs",), ("show", "r1"), ("worker", "--burst")]


def test_a_command_against_a_black_hole_gives_up_within_seconds(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    """``runs``, ``show`` and a worker, run side by side (each waits the same few seconds)."""
    url = black_hole.url("waybill:s3cret@")
    env = worker_env(url, tmp_path, WAYBILL_REDIS_OUTAGE_S="0")  # the worker: no waiting
    masked = black_hole.url("waybill:***@")
    for command, (done, took) in zip(COMMANDS, _timed(env, *COMMANDS), strict=True):
        assert took < BOUND_S, f"{' '.join(command)} took {took:.1f}s: {done.stderr}"
        assert done.returncode == 1, done.stdout + done.stderr
        line = one_line(done)
        said = f"waybill: cannot reach Redis at {masked}: it did not answer within "
        assert line.startswith(said), line
        assert "unset REDIS_URL to use the embedded server" in line
        assert "s3cret" not in done.stdout + done.stderr


def test_a_queue_redis_that_never_answers_is_named(
    server: ServerUnderTest, black_hole: BlackHole, tmp_path: Path
) -> None:
    """The state's Redis answers; the queue's (``WAYBILL_QUEUE_URL``) is a black hole."""
    env = worker_env(server.url, tmp_path, WAYBILL_QUEUE_URL=black_hole.url())
    [(done, took)] = _timed(env, ("runs",))
    assert took < BOUND_S, f"took {took:.1f}s: {done.stderr}"
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line(done)
    assert line.startswith(f"waybill: cannot reach Redis at {black_hole.url()}: it did not "), line
    assert line.endswith("unset WAYBILL_QUEUE_URL to keep the queue in REDIS_URL's Redis"), line

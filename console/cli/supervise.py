"""What ``waybill up`` does when one of its processes dies.

A process **killed** by a signal (SIGKILL, the kernel's out-of-memory killer, a crash; not
SIGTERM, SIGINT, SIGHUP or SIGPIPE, which ask it to stop) is started again: the workers, the
console and the embedded Valkey are each built to ride out the others' gaps (runs resume from
their last checkpoint, the console shows its Redis banner, the Valkey comes back on its port and
its AOF). A child that **exits** (or is asked to stop) has said why, or someone wanted it, and
``up`` stops the rest. So does anything killed more than ``LIMIT`` times in ``WINDOW_S``
seconds: restarting it again would only hide the problem.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

from state.control.errors import RedisUnavailable
from state.embedded import EmbeddedRedis

LIMIT = 3
WINDOW_S = 60.0
_CLEAN = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE}
"""Signals that ask a process to stop (as systemd counts them): stopped, not crashed."""


class Deaths:
    """When something died, kept for ``WINDOW_S`` seconds."""

    def __init__(self) -> None:
        self._times: list[float] = []

    def add(self) -> int:
        """Record a death now; how many there were in the window, this one included."""
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < WINDOW_S] + [now]
        return len(self._times)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal between SIGRTMIN and SIGRTMAX
        return f"signal {number}"


def _say(line: str) -> None:
    print(f"waybill: {line}", file=sys.stderr, flush=True)


class Child:
    """A process ``up`` started, with how to start it again.

    Args:
        name: What the messages call it (``worker 1``, ``the console``).
        spawn: Starts it (again).
    """

    def __init__(self, name: str, spawn: Callable[[], subprocess.Popen[bytes]]) -> None:
        self.name = name
        self._spawn = spawn
        self.proc = spawn()
        self._deaths = Deaths()

    def check(self) -> bool:
        """Start it again if it was killed (said in one line); False when ``up`` must stop:
        it exited on its own, or was killed too often."""
        code = self.proc.poll()
        if code is None:
            return True
        if code >= 0:
            _say(f"{self.name} exited (code {code}): stopping the rest")
            return False
        if -code in _CLEAN:
            _say(f"{self.name} was stopped ({_signal_name(-code)}): stopping the rest")
            return False
        how = f"was killed ({_signal_name(-code)})"
        times = self._deaths.add()
        if times > LIMIT:
            _say(f"{self.name} {how}, {times} times in a minute: stopping the rest")
            return False
        _say(f"{self.name} {how}: starting it again")
        self.proc = self._spawn()
        return True


class Valkey:
    """The embedded Valkey ``up`` owns (if it owns one): started again on its port and its AOF
    when it dies, so every child's ``REDIS_URL`` stays valid."""

    def __init__(self, embedded: EmbeddedRedis | None) -> None:
        self._embedded = embedded if embedded is not None and embedded.owner else None
        self._deaths = Deaths()

    def check(self) -> bool:
        """False when the server is dead and stays so (said in one line), else True."""
        embedded = self._embedded
        if embedded is None or embedded.alive():
            return True
        log = embedded.redis_dir / "valkey.log"
        times = self._deaths.add()
        if times > LIMIT:
            _say(f"the embedded Valkey exited {times} times in a minute: stopping (see {log})")
            return False
        _say(
            f"the embedded Valkey (pid {embedded.pid}) exited: restarting it on its port and its "
            "data"
        )
        try:
            embedded.revive()
        except RedisUnavailable as exc:
            _say(f"{exc}: stopping (see {log})")
            return False
        _say(f"the embedded Valkey is back (pid {embedded.pid})")
        return True

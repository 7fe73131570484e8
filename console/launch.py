"""Start the processes of a Waybill installation as children, and stop them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from console.origin import allowed_origins

ASGI = Path(__file__).resolve().parent / "asgi.py"


def child_env(redis_url: str) -> dict[str, str]:
    """The environment of a child: the parent's, pointed at the same Redis."""
    return {**os.environ, "REDIS_URL": redis_url}


def spawn_worker(redis_url: str, name: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``waybill worker`` on ``redis_url`` in a session (process group) of its own, named
    ``name`` (a worker started again under its dead predecessor's name takes its registration
    over, so the queue does not count a dead worker)."""
    named = ["--name", name] if name else []
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "worker", *named],
        env=child_env(redis_url),
        start_new_session=True,
    )


def console_command(host: str, port: int, extra_origins: Iterable[str] = ()) -> list[str]:
    """The command that serves the console on ``host:port``, locked to its own origin.

    ``console/asgi.py`` wraps the app in ``OriginGuard`` (a websocket must come from one of
    ``allowed_origins`` exactly); Streamlit's own CORS and XSRF checks stay on, its CORS
    allowlist is the same, and ``allowedHosts`` refuses other Host headers (DNS rebinding).

    Args:
        host: The bind address.
        port: The port.
        extra_origins: Origins a browser may use besides the bind address (a reverse proxy's).
    """
    origins = sorted(allowed_origins(host, port, extra_origins))
    names = {urlsplit(o).hostname for o in origins}
    hosts = sorted(h for h in names if h)
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ASGI),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.enableCORS=true",
        "--server.enableXsrfProtection=true",
        *(f"--server.corsAllowedOrigins={o}" for o in origins),
        *(f"--server.allowedHosts={h}" for h in hosts),
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
        "--client.toolbarMode=minimal",
    ]


def spawn_console(
    redis_url: str, host: str, port: int, extra_origins: Iterable[str] = ()
) -> subprocess.Popen[bytes]:
    """Start the console (see :func:`console_command`) on ``redis_url`` in a session (process
    group) of its own."""
    return subprocess.Popen(
        console_command(host, port, extra_origins),
        env=child_env(redis_url),
        start_new_session=True,
    )


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``), children before grandchildren.

    RQ's work horse runs in a process group of its own, so signalling a worker's group does
    not reach it: stopping everything needs the tree.
    """
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: list[int] = []
    frontier = [pid]
    while frontier:
        kids = parents.get(frontier.pop(0), [])
        out += kids
        frontier += kids
    return out


def _signal_tree(pid: int, sig: int) -> None:
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


def kill_all(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL every child and everything below it (a stop that must not wait)."""
    for child in children:
        _signal_tree(child.pid, signal.SIGKILL)


def stop_all(children: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """Stop every child and everything below it.

    SIGTERM first (a worker drains: its node finishes and its run goes back to the queue); a
    second SIGTERM after half of ``timeout`` (the work process ends at once, the run resumes
    from its last checkpoint elsewhere); SIGKILL to whatever is left at the end.
    """
    trees = {child.pid: [child.pid, *descendants(child.pid)] for child in children}
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for sig_at, sig in ((timeout / 2, signal.SIGTERM), (timeout, signal.SIGKILL)):
        for child in children:
            try:
                child.wait(timeout=max(0.05, deadline - timeout + sig_at - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_tree(child.pid, sig)
    for child in children:
        child.wait()
        for pid in trees[child.pid] + descendants(child.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

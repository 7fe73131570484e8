"""Start the processes of a Waybill installation as children, and stop them all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def child_env(redis_url: str) -> dict[str, str]:
    """The environment of a child: the parent's, pointed at the same Redis."""
    return {**os.environ, "REDIS_URL": redis_url}


def spawn_worker(redis_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "worker"],
        env=child_env(redis_url),
        start_new_session=True,
    )


def spawn_console(redis_url: str, host: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            f"--server.address={host}",
            f"--server.port={port}",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
            "--client.toolbarMode=minimal",
        ],
        env=child_env(redis_url),
        start_new_session=True,
    )


def stop_all(children: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """SIGTERM every child's process group, then SIGKILL what is left after ``timeout``."""
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()

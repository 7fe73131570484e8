"""Worker processes for the benchmarks: start ``waybill worker``s on a Redis, wait for a
condition, stop them with everything below them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rq import Queue, Worker

from console.launch import stop_all

ROOT = Path(__file__).resolve().parents[1]


def start_workers(url: str, data_dir: Path, k: int) -> list[subprocess.Popen[bytes]]:
    """Start ``k`` ``waybill worker`` processes on ``url`` (the steps workflow registered too)."""
    env = {**os.environ, "REDIS_URL": url, "WAYBILL_DATA_DIR": str(data_dir)}
    env["WAYBILL_WORKFLOW_MODULES"] = '["tests.workflows.steps"]'
    env["PYTHONPATH"] = str(ROOT)
    env["WAYBILL_VETO_WINDOW_S"] = "1"
    return [
        subprocess.Popen(
            [sys.executable, "-m", "console.cli", "worker", "--name", f"bench{i}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(k)
    ]


def workers_at_least(queue: Queue, k: int) -> bool:
    """Whether ``k`` or more workers listen on ``queue``."""
    return int(Worker.count(queue=queue)) >= k


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers and everything below them (``console.launch.stop_all``)."""
    stop_all(workers, timeout=5)


def wait(cond: Callable[[], bool], timeout: float = 60, tick: float = 0.002) -> None:
    """Poll ``cond`` every ``tick`` seconds until it holds; ``TimeoutError`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(tick)

"""Helpers for runtime tests: real worker processes on a real Redis, and waiting for runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from rq import Queue

from console.launch import descendants
from graph.runtime.executor import RunExecutor
from graph.runtime.principal import Principal
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.roles import Role
from tests.staff import PROCUREMENT_GROUPS, add_staff
from tests.workflows import steps

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Principal("ada", "admin")
APPROVER = Principal("april", "approver")
VIEWER = Principal("vic", "viewer")
FINANCE = Principal("bob", "approver")
"""An approver in every group that owns a procurement stage (finance decides large orders):
procurement runs started by april are approved by bob (four eyes)."""
STAFF: dict[str, Role] = {"ada": "admin", "april": "approver", "vic": "viewer", "bob": "approver"}
"""The runtime tests' users; april is in the ``tests`` group that owns the steps workflow, bob in
the procurement groups."""
GROUPS = {"april": ["tests"], "bob": list(PROCUREMENT_GROUPS)}
Executors = Callable[..., RunExecutor]
"""The ``executors`` fixture: makes a ``RunExecutor`` (its arguments), closed after the test."""

TIMING = {"WAYBILL_LEASE_TTL_S": "2", "WAYBILL_KILL_GRACE_S": "1", "WAYBILL_VETO_WINDOW_S": "2"}


def as_a_terminal_starts_it() -> None:
    """``preexec_fn`` of a command started as a terminal's foreground job: SIGINT at its default,
    whatever the test runner's own disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def worker_env(url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_")}
    return {
        **env,
        "REDIS_URL": url,
        "WAYBILL_DATA_DIR": str(data_dir),
        "WAYBILL_WORKFLOW_MODULES": '["tests.workflows.steps"]',
        "PYTHONPATH": str(ROOT),
        **TIMING,
        **extra,
    }


class WorkerProcess:
    """``waybill worker`` in its own process group (so a kill takes its work horse too)."""

    def __init__(
        self, url: str, data_dir: Path, name: str, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.log = data_dir / f"{name}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "worker", "--name", name, *args],
            env=worker_env(url, data_dir, **(env or {})),
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def signal(self, sig: int) -> None:
        """Signal the worker and every process below it (its work horse has its own group)."""
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(cond: Callable[[], Any], timeout: float, what: str, tick: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(tick)


def wait_status(
    cp: ControlPlane, run_id: str, statuses: set[str], timeout: float = 30
) -> RunRecord:
    def reached() -> RunRecord | None:
        record = cp.runs.get(run_id)
        return record if record.status in statuses else None

    record: RunRecord = wait_for(reached, timeout, f"run {run_id} to reach {statuses}")
    return record


def service(url: str) -> tuple[RunService, ControlPlane, redis.Redis]:
    """A run service in the test process, queueing to the workers (steps + procurement)."""
    cp = ControlPlane.from_url(url)
    raw = redis.Redis.from_url(url)
    queue = Queue("waybill", connection=raw)
    registry = Registry()
    registry.register(steps.build_chain)

    def enqueue(run_id: str) -> None:
        enqueue_run(queue, run_id)

    add_staff(cp, STAFF, GROUPS)
    svc = RunService(cp, registry, enqueue, raw=raw)
    return svc, cp, raw

"""Runs executed in the test's own process (each dispatch runs the executor to its next stop),
for tests that observe what an execution reports."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import redis

from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from graph.telemetry.observer import RunObserver
from state.control.plane import ControlPlane
from tests.integration.runtime import GROUPS, STAFF
from tests.staff import add_staff


@dataclass
class Inline:
    """A run service whose dispatch executes the run right away, as worker ``worker``."""

    cp: ControlPlane
    raw: redis.Redis
    registry: Registry
    service: RunService
    observer: RunObserver | None = None
    worker: str = "w-a"

    def dispatch(self, run_id: str) -> None:
        executor = RunExecutor(
            self.cp,
            self.raw,
            self.registry,
            worker=self.worker,
            config=ExecutorConfig(veto_window_s=0),
            observer=self.observer,
        )
        with closing(executor):
            executor.execute(run_id)


def inline(url: str, observer: RunObserver | None = None) -> Inline:
    """An inline run service on the Redis at ``url`` with every discovered workflow."""
    cp = ControlPlane.from_url(url)
    add_staff(cp, STAFF, GROUPS)
    raw = redis.Redis.from_url(url)
    registry = Registry()
    box = Inline(cp, raw, registry, RunService(cp, registry, lambda r: None, raw=raw), observer)
    box.service.dispatch = box.dispatch
    return box

"""Recording how a run ended when it could not end on its own (a broken node, a poison run,
Redis lost mid-run): one line for the user, fenced by the worker's lease."""

from __future__ import annotations

import logging
import time

import redis

from state.control.errors import LeaseLost, RunFinished
from state.control.plane import ControlPlane

log = logging.getLogger(__name__)


def record_failed(
    cp: ControlPlane, run_id: str, token: int | None, reason: str, *, wait_s: float = 0.0
) -> str:
    """Record ``run_id`` failed with ``reason``; returns the status to report.

    ``lease-lost`` when another worker owns the run now, ``finished`` when it already ended.
    With ``wait_s``, an unreachable Redis is retried that long before the error propagates.
    """
    log.error("run %s: %s", run_id, reason)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cp.runs.update(run_id, status="failed", reason=reason, fence=token)
            return "failed"
        except LeaseLost:
            return "lease-lost"
        except RunFinished:
            return "finished"
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)

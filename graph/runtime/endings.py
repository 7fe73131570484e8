"""Recording how a run ended when it could not end on its own (a broken node, a poison run,
Redis lost mid-run): one line for the user, fenced by the worker's lease; and waiting for a
Redis that went away."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from state.control.errors import LeaseLost, RunFinished
from state.control.outage import OUTAGE_ERRORS
from state.control.plane import ControlPlane
from state.keys import run_key

if TYPE_CHECKING:
    from graph.runtime.registry import UnknownWorkflowError

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
        except OUTAGE_ERRORS:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def poison_reason(attempt: int, nxt: list[str]) -> str:
    """Why a run executed ``attempt`` times from the same checkpoint is not retried again."""
    return (
        f"poison run: {attempt - 1} executions from the same checkpoint (at "
        f"{', '.join(nxt) or 'the start'}) made no progress (the worker died each time); "
        "not retried again"
    )


def redis_back(cp: ControlPlane, within_s: float, run_id: str) -> bool:
    """Whether Redis answers again within ``within_s`` seconds, for ``run_id``'s keys (on a
    cluster, the node that owns their slot, which may be failing over)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            cp.client.exists(run_key(run_id))
            return True
        except OUTAGE_ERRORS:
            time.sleep(1.0)
    return False


def wait_out(cp: ControlPlane, run_id: str, exc: Exception, within_s: float) -> bool:
    """After an outage outside the run's nodes (taking its lease, reading its record), which
    lost nothing of it: one line, then whether Redis answers again within ``within_s``."""
    log.warning("run %s: Redis is unavailable (%s); waiting up to %gs for it",
                run_id, " ".join(str(exc).split()), within_s)  # fmt: skip
    return redis_back(cp, within_s, run_id)


def lost_redis(cp: ControlPlane, run_id: str, token: int, exc: Exception, outage_s: float) -> str:
    """Record the run failed, with the reason, as soon as Redis answers again.

    Every checkpoint written before the outage was acknowledged and stays: the run can be
    forked from its last one. If Redis does not answer for ten times the wait, the error
    propagates (a sweeper re-queues the run when Redis is back).
    """
    reason = (
        f"lost the connection to Redis for more than {outage_s:g}s "
        f"mid-run ({type(exc).__name__}: {exc}); the last acknowledged checkpoint is kept "
        "(waybill history / fork to go on)"
    )
    if not redis_back(cp, max(600.0, 10 * outage_s), run_id):
        raise exc
    return record_failed(cp, run_id, token, reason)


def unknown_here(exc: UnknownWorkflowError, worker: str) -> str:
    """Why a run of a workflow this worker does not have fails (rather than going back to the
    queue for ever): every worker must load the same workflows as the processes that submit."""
    if getattr(exc, "error", None):  # it has it, and it failed to load here
        return f"worker {worker}: {exc}"
    return (
        f"worker {worker} has no workflow {exc.name!r} (it has: {', '.join(exc.known) or 'none'}):"
        " every worker needs the workflow's package under agents/ or its module in "
        "WAYBILL_WORKFLOW_MODULES, as the process that submitted the run"
    )

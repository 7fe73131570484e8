"""Transitions are atomic: a process that dies between any two steps of a submit or a decision
leaves a run that still ends, once, with one audit entry — completed by whoever comes next."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rq import Queue

from graph.runtime.sweeper import recover_orphans
from state.control.plane import ControlPlane
from state.control.run_index import QUEUED_GRACE_S
from tests.integration.runtime import APPROVER, WorkerProcess, service, wait_status
from tests.redis_servers import ServerUnderTest

TERMINAL = {"succeeded", "failed", "rejected", "killed"}
# The steps after a transition's script, in order: each one may be the last that happens.
STEPS = ("audit", "reindex", "dispatch", "done")


class _DiedError(Exception):
    """The deciding process stops here (its caller sees an error; Redis keeps what was done)."""


def _die_at(cp: ControlPlane, svc: Any, step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def die(*args: Any, **kwargs: Any) -> Any:
        raise _DiedError(step)

    target = {
        "audit": (cp.audit, "append"),
        "reindex": (cp.runs, "reindex"),
        "done": (cp.outbox, "done"),
    }
    if step == "dispatch":
        monkeypatch.setattr(svc, "dispatch", die)
    else:
        obj, name = target[step]
        monkeypatch.setattr(obj, name, die)


def _recover(server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker's sweeper does once the run's grace period is over."""
    fresh = ControlPlane.from_url(server.url)
    try:
        later = time.time() + QUEUED_GRACE_S + 1
        recover_orphans(fresh, Queue("waybill", connection=server.client()), now=later)
    finally:
        fresh.close()


def _audit(cp: ControlPlane, action: str, target: str) -> int:
    return len(cp.audit.list(action=action, target=target, limit=100))


@pytest.mark.parametrize("step", STEPS)
def test_a_decision_interrupted_after_any_step_still_resumes_the_run_once(
    server: ServerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        run_id = svc.submit("steps", {"job_id": f"d-{step}", "amount": 500}, who=APPROVER).run_id
        wait_status(cp, run_id, {"waiting"})
        [esc] = cp.escalations.for_run(run_id)
        with monkeypatch.context() as m:
            _die_at(cp, svc, step, m)
            with pytest.raises(_DiedError):
                svc.decide(esc.escalation_id, "approve", who=APPROVER, run_id=run_id)
        # Whatever got done, the decision and the queued status were one step.
        assert cp.escalations.get(esc.escalation_id).decision is not None
        assert cp.runs.get(run_id).status in {"queued", "running", "succeeded"}
        _recover(server, monkeypatch)
        done = wait_status(cp, run_id, TERMINAL, timeout=40)
        assert done.status == "succeeded"
        assert raw.hget("test:effects", f"d-{step}") == b"1"
        assert _audit(cp, "escalation.approve", run_id) == 1
        assert cp.outbox.pending(run_id) == []
        assert cp.audit.verify().ok
        assert cp.escalations.list_pending() == []
    finally:
        worker.stop()


@pytest.mark.parametrize("step", STEPS)
def test_a_submit_interrupted_after_any_step_still_runs_once(
    server: ServerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    svc, cp, raw = service(server.url)
    with monkeypatch.context() as m:
        _die_at(cp, svc, step, m)
        with pytest.raises(_DiedError):
            svc.submit("steps", {"job_id": f"s-{step}"}, who=APPROVER)
    [record] = cp.runs.list(limit=5).items
    run_id = record.run_id
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        _recover(server, monkeypatch)
        assert wait_status(cp, run_id, TERMINAL, timeout=40).status == "succeeded"
        assert raw.hget("test:effects", f"s-{step}") == b"1"
        assert _audit(cp, "run.start", run_id) == 1
        assert cp.outbox.pending(run_id) == []
    finally:
        worker.stop()

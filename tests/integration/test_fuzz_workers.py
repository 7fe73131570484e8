"""Fuzzed inputs and edits on real workers: every one ends as a clean refusal, a finished run or
a run waiting for a human; nothing is left on the queue, nothing failed as a job."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from rq import Queue

from graph.runtime.principal import ServiceError
from graph.runtime.runner import InputError
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from tests.integration.runtime import APPROVER, WorkerProcess, service, wait_for, wait_status
from tests.redis_servers import ServerUnderTest
from tests.strategies import edits, inputs

SMALL = {
    "request_id": "R-1",
    "requester": "a@b",
    "cost_center": "OPS-12",
    "text": "Need 20 units of SKU-CHAIR-01 by 2099-01-15.",
}
SETTLED = {"succeeded", "failed", "rejected", "killed", "waiting"}
FEW = settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _one_line_refusals(errors: list[str]) -> None:
    assert all(e and "\n" not in e and "Traceback" not in e for e in errors), errors


def _submitter(svc: RunService, name: str, ids: list[str], errors: list[str]) -> Callable[[], None]:
    @FEW
    @given(request=inputs(svc.registry.get(name)))
    def submit(request: Any) -> None:
        try:
            ids.append(svc.submit(name, request, who=APPROVER).run_id)
        except InputError as exc:
            errors.append(str(exc))

    return submit


def _editor(
    svc: RunService, cp: ControlPlane, run_id: str, errors: list[str], tried: list[str]
) -> Callable[[], None]:
    [esc] = [e for e in cp.escalations.for_run(run_id) if e.decision is None]
    proposed = dict(esc.request.get("proposed") or {})

    @FEW
    @given(edited=edits(proposed))
    def edit(edited: Any) -> None:
        pending = [e for e in cp.escalations.for_run(run_id) if e.decision is None]
        if not pending or "edit" not in (pending[0].request.get("allowed") or []):
            return
        tried.append(run_id)
        try:
            svc.decide(pending[0].escalation_id, "edit", who=APPROVER, edited=edited)
        except ServiceError as exc:
            errors.append(str(exc))
            return
        wait_status(cp, run_id, SETTLED, timeout=60)

    return edit


def test_fuzzed_inputs_and_edits_never_crash_or_loop_on_workers(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "fuzz")
    ids: list[str] = []
    errors: list[str] = []
    tried: list[str] = []
    try:
        for name in ("procurement", "refund", "research"):
            _submitter(svc, name, ids, errors)()
        for run_id in ids:
            wait_status(cp, run_id, SETTLED, timeout=60)
        # A run whose gate escalates (a loop): a human may edit it, so fuzz the edits there.
        looped = svc.submit("procurement", SMALL, who=APPROVER, inject="ping_pong").run_id
        wait_status(cp, looped, {"waiting"}, timeout=60)
        _editor(svc, cp, looped, errors, tried)()
        ids.append(looped)
        queue = Queue("waybill", connection=raw)
        wait_for(lambda: queue.count == 0, 30, "an empty queue")
        assert queue.failed_job_registry.count == 0
        assert all(cp.runs.get(r).status in SETTLED for r in ids)
    finally:
        worker.stop()
    assert ids, "some fuzzed inputs were valid enough to run"
    assert tried, "fuzzed edits were sent"
    assert errors, "some were refused"
    _one_line_refusals(errors)

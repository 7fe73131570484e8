"""Bad input on real workers: an agent that raises ends as a verdict, a node that keeps killing
its worker ends as a failed run, and neither loops on the queue."""

from __future__ import annotations

from pathlib import Path

from rq import Queue

from state.nodes import gate_node
from state.verdicts import GateVerdict
from tests.integration.runtime import APPROVER, WorkerProcess, service, wait_status
from tests.redis_servers import ServerUnderTest


def test_an_agent_that_raises_ends_as_a_verdict_not_a_crash_loop(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        record = svc.submit("steps", {"job_id": "j1", "note": "raise"}, who=APPROVER)
        done = wait_status(cp, record.run_id, {"waiting", "failed", "succeeded"}, timeout=20)
        assert done.status == "waiting"  # a human decides what to do with the broken stage
        [esc] = cp.escalations.for_run(record.run_id)
        verdict = GateVerdict.model_validate(esc.request["verdict"])
        assert verdict.node == gate_node("slow", "finish")
        assert any(
            c.check == "agent" and "ValueError: the slow agent broke" in c.detail
            for c in verdict.checks
        )
        queue = Queue("waybill", connection=raw)
        assert queue.count == 0
        assert queue.failed_job_registry.count == 0
        assert int(raw.hget("test:effects", "j1") or 0) == 0  # nothing was acted on
    finally:
        worker.stop()


def test_a_node_that_kills_its_worker_every_time_is_a_poison_run(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        record = svc.submit("steps", {"job_id": "j2", "note": "die"}, who=APPROVER)
        done = wait_status(cp, record.run_id, {"failed", "succeeded"}, timeout=60)
        assert done.status == "failed"
        assert done.reason is not None
        assert done.reason.startswith("poison run: 3 executions from the same checkpoint")
        queue = Queue("waybill", connection=raw)
        attempts = len(queue.failed_job_registry) + queue.count
        # It ends: a fresh run still starts and finishes behind it.
        ok = svc.submit("steps", {"job_id": "j3"}, who=APPROVER)
        assert wait_status(cp, ok.run_id, {"succeeded", "failed"}, timeout=30).status == "succeeded"
        assert attempts <= 8
    finally:
        worker.stop()

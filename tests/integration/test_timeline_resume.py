"""A run that stops and resumes (a human's decision, on the same worker or another) has each
node in its timeline once: events written as the run streams and events re-derived from the
checkpoints on resume carry the same keys."""

from __future__ import annotations

from pathlib import Path

from state.run_events import node_updates
from tests.integration.runtime import APPROVER, WorkerProcess, service, wait_status
from tests.redis_servers import ServerUnderTest

NODES = ["first", "gate first->slow", "slow", "gate slow->finish", "finish", "gate finish->END"]


def test_a_run_resumed_after_a_decision_lists_each_node_once(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        run_id = svc.submit("steps", {"job_id": "tl", "amount": 500}, who=APPROVER).run_id
        wait_status(cp, run_id, {"waiting"}, timeout=30)
        before = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
        assert before == NODES
        [esc] = cp.escalations.for_run(run_id)
        svc.decide(esc.escalation_id, "approve", who=APPROVER, run_id=run_id)
        assert wait_status(cp, run_id, {"succeeded"}, timeout=30).status == "succeeded"
    finally:
        worker.stop()
    after = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
    assert after == [*NODES, "act finish"]
    assert raw.hget("test:effects", "tl") == b"1"

"""Hold switches and draining workers on real workers and Redis: a run stops at its next node
without ending, keeps its checkpoint, and goes on (each node once, the action once) when the
hold is released or another worker takes it over."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from rq import Worker
from rq.job import Job

from graph.runtime.principal import Forbidden, ServiceError
from graph.runtime.queueing import job_of_key
from state.control.plane import ControlPlane
from state.run_events import ActionRecorded, AgentDecided, node_updates
from tests.integration.runtime import (
    ADMIN,
    APPROVER,
    WorkerProcess,
    service,
    wait_for,
    wait_status,
)
from tests.integration.test_cli_redis import waybill
from tests.redis_servers import ServerUnderTest, decoded
from tests.staff import token_for


def _decided(cp: ControlPlane, run_id: str) -> list[str]:
    """The stages whose agent decided, in order (each node that ran, once per run of it)."""
    updates = node_updates(cp.events.read(run_id, count=500))
    return [u.node.stage for u in updates if u.of_kind(AgentDecided)]


def _executed(cp: ControlPlane, run_id: str) -> int:
    updates = node_updates(cp.events.read(run_id, count=500))
    return sum(
        1 for u in updates for a in u.of_kind(ActionRecorded) if a.record.status == "executed"
    )


def test_a_held_run_stops_at_its_next_node_and_goes_on_when_released(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        run_id = svc.submit("steps", {"job_id": "h1", "sleep_s": 3}, who=APPROVER).run_id
        wait_for(lambda: cp.runs.get(run_id).stage == "slow", 30, "the slow stage")
        assert svc.hold("workflow", "steps", who=ADMIN, reason="deploy") == 0
        held = wait_status(cp, run_id, {"held"}, timeout=30)
        assert held.reason == "hold switch workflow:steps by ada: deploy"
        # The slow node finished (its work is kept); the next one did not start.
        assert _decided(cp, run_id) == ["first", "slow"]
        assert raw.hget("test:effects", "h1") is None
        # A second run of the same workflow is held before it starts.
        queued = svc.submit("steps", {"job_id": "h2"}, who=APPROVER).run_id
        assert wait_status(cp, queued, {"held"}, timeout=30).status == "held"
        assert _decided(cp, queued) == []
        assert [(s.kind, s.scope, s.target) for s in cp.kills.list(kind="hold")] == [
            ("hold", "workflow", "steps")
        ]
        assert cp.kills.list() == []  # no kill switch: nothing ends
        assert svc.release("workflow", "steps", who=ADMIN) == (True, 2)
        for one in (run_id, queued):
            assert wait_status(cp, one, {"succeeded"}, timeout=30).status == "succeeded"
        assert _decided(cp, run_id) == ["first", "slow", "finish"]  # each node once
        assert _executed(cp, run_id) == 1
        assert raw.hget("test:effects", "h1") == b"1"
    finally:
        worker.stop()
    actions = [e.action for e in cp.audit.list(limit=20)]
    assert "hold.trip" in actions
    assert "hold.release" in actions
    assert cp.audit.verify().ok


def test_release_leaves_runs_another_hold_covers_and_a_kill_ends_a_held_run(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, _ = service(server.url)
    svc.hold("global", None, who=ADMIN, reason="incident")
    svc.hold("workflow", "steps", who=ADMIN, reason="deploy")
    a = svc.submit("steps", {"job_id": "g1"}, who=APPROVER).run_id
    b = svc.submit("steps", {"job_id": "g2"}, who=APPROVER).run_id
    assert {cp.runs.get(a).status, cp.runs.get(b).status} == {"queued"}  # no worker yet
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        for one in (a, b):
            wait_status(cp, one, {"held"}, timeout=30)
        assert svc.release("workflow", "steps", who=ADMIN) == (True, 0)  # the global one holds
        assert cp.runs.get(a).status == "held"
        assert svc.kill("run", b, who=ADMIN, reason="not needed") == 1
        assert cp.runs.get(b).status == "killed"
        assert svc.release("global", None, who=ADMIN) == (True, 1)
        assert wait_status(cp, a, {"succeeded"}, timeout=30).status == "succeeded"
        assert cp.runs.get(b).status == "killed"  # killed is final: a release revives nothing
        assert svc.release("global", None, who=ADMIN) == (False, 0)
    finally:
        worker.stop()


def test_a_queued_run_held_at_once_is_not_started_by_its_job(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Its job, picked while the hold is on, starts nothing: no flicker of ``running`` (for the
    console, the webhooks, the status events); the release queues it and it runs once."""
    svc, cp, raw = service(server.url)
    run_id = svc.submit("steps", {"job_id": "q1"}, who=APPROVER).run_id  # no worker yet
    svc.hold("run", run_id, who=ADMIN, reason="check the input first")
    assert cp.runs.get(run_id).status == "held"
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        job = Job.fetch(decoded(raw.get(job_of_key(run_id))), connection=raw)
        wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "its job to be done")
        assert job.return_value() == "held"  # what the job found; it started nothing
        assert cp.runs.get(run_id).status == "held"
        assert svc.release("run", run_id, who=ADMIN) == (True, 1)
        assert wait_status(cp, run_id, {"succeeded"}, timeout=30).status == "succeeded"
    finally:
        worker.stop()
    moves = [(e.data["from"], e.data["to"]) for e in cp.events.read(run_id) if e.kind == "status"]
    assert moves == [
        ("", "queued"),
        ("queued", "held"),
        ("held", "queued"),  # released; never running while held
        ("queued", "running"),
        ("running", "succeeded"),
    ]
    assert _decided(cp, run_id) == ["first", "slow", "finish"]  # each node once
    assert raw.hget("test:effects", "q1") == b"1"


def test_holding_needs_an_admin_and_a_reason(server: ServerUnderTest) -> None:
    svc, cp, _ = service(server.url)
    with pytest.raises(Forbidden, match="april \\(approver\\) may not trip a hold switch"):
        svc.hold("global", None, who=APPROVER, reason="x")
    with pytest.raises(Forbidden, match="may not release a hold switch"):
        svc.release("global", None, who=APPROVER)
    with pytest.raises(ServiceError, match="a hold needs a reason"):
        svc.hold("global", None, who=ADMIN, reason=" ")
    assert cp.kills.list(kind=None) == []
    denied = [e for e in cp.audit.list(limit=10) if e.action == "denied"]
    assert len(denied) == 2


def test_the_cli_holds_and_releases_as_an_admins_token(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    ada, vic = token_for(server.url, "ada", "admin"), token_for(server.url, "vic", "viewer")
    url = server.url
    tripped = waybill(url, tmp_path, "hold", "--workflow", "steps", "--reason", "deploy", token=ada)
    assert tripped.returncode == 0, tripped.stderr
    assert tripped.stdout.startswith("hold switch workflow:steps tripped; 0 queued run(s) held")
    listed = waybill(url, tmp_path, "holds")
    assert listed.stdout.startswith("workflow:steps  by ada at ")
    assert waybill(url, tmp_path, "kills").stdout.strip() == "no kill switch is tripped"
    refused = waybill(url, tmp_path, "release", "--workflow", "steps", token=vic)
    assert refused.returncode != 0
    assert "vic (viewer) may not release a hold switch" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = waybill(url, tmp_path, "release", "--workflow", "steps", token=ada)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hold switch workflow:steps released; 0 held run(s) queued")
    cp = ControlPlane.from_url(url)
    assert cp.kills.list(kind=None) == []
    assert [e.actor for e in cp.audit.list(limit=10) if e.action.startswith("hold.")] == [
        "ada",
        "ada",
    ]
    cp.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "hangup"])
def test_a_worker_told_to_stop_drains_its_run_to_another_worker(
    server: ServerUnderTest, tmp_path: Path, stop: signal.Signals
) -> None:
    """SIGTERM, or its terminal closing (SIGHUP to the supervisor and its work process)."""
    svc, cp, raw = service(server.url)
    first = WorkerProcess(server.url, tmp_path, "w1")
    run_id = svc.submit("steps", {"job_id": "d1", "sleep_s": 2}, who=APPROVER).run_id
    wait_for(lambda: cp.runs.get(run_id).stage == "slow", 30, "the slow stage")
    first.signal(stop)
    assert first.proc.wait(timeout=30) == 0  # after the slow node, not in the middle of it
    back = cp.runs.get(run_id)
    assert back.status == "queued"
    assert back.reason == "worker w1 stopped: handed back to the queue"
    assert _decided(cp, run_id) == ["first", "slow"]
    assert Worker.count(connection=raw) == 0  # deregistered
    assert "Traceback" not in first.output()
    second = WorkerProcess(server.url, tmp_path, "w2")
    try:
        assert wait_status(cp, run_id, {"succeeded"}, timeout=30).status == "succeeded"
    finally:
        second.stop()
    assert _decided(cp, run_id) == ["first", "slow", "finish"]  # the slow node ran once
    assert raw.hget("test:effects", "d1") == b"1"


def test_a_decision_on_a_held_workflow_says_the_run_waits_for_the_release(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """The decision is recorded, but the run does not resume: it said "resuming" before."""
    ada, url = token_for(server.url, "ada", "admin"), server.url
    job = tmp_path / "big.json"
    job.write_text('{"job_id": "h9", "amount": 500}')  # approve-tier: the run waits
    started = waybill(url, tmp_path, "run", "steps", "--input", str(job), token=ada)
    assert started.returncode == 6, started.stdout + started.stderr
    run_id = started.stdout.split("waybill: run ")[1].split()[0]
    held = waybill(url, tmp_path, "hold", "--workflow", "steps", "--reason", "deploy", token=ada)
    assert held.returncode == 0, held.stderr
    done = waybill(url, tmp_path, "decide", run_id, "--approve", token=ada)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "a hold switch covers the run (workflow:steps): it goes on when that is released"
    )
    cp = ControlPlane.from_url(url)
    assert cp.runs.get(run_id).status == "held"
    cp.close()

"""A kill and a decision on the same run, at the same moment: one order, told truthfully, and a
run that ends killed never hides an action it took."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import redis

from graph.runtime.executor import ExecutorConfig
from graph.runtime.principal import NothingToStop, ScopeKilled
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.errors import RunFinished
from state.control.kills import switch_key
from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.run_events import ActionRecorded, node_updates
from tests.integration.runtime import (
    ADMIN,
    APPROVER,
    Executors,
    WorkerProcess,
    service,
    wait_status,
)
from tests.integration.test_replay import EXAMPLES, SMALL
from tests.redis_servers import ServerUnderTest

TERMINAL = {"succeeded", "failed", "rejected", "killed"}


def _race(svc: RunService, cp: ControlPlane, run_id: str, esc_id: str) -> str:
    """Decide and kill at once; returns what the decider was told."""
    start = threading.Barrier(2)
    told: dict[str, str] = {}

    def decide() -> None:
        start.wait()
        try:
            svc.decide(esc_id, "approve", who=APPROVER, run_id=run_id)
            told["decide"] = "recorded"
        except (RunFinished, ScopeKilled):
            told["decide"] = "refused"

    def kill() -> None:
        start.wait()
        with contextlib.suppress(NothingToStop):  # the run was over already: nothing to stop
            svc.kill("run", run_id, who=ADMIN, reason="race")

    threads = [threading.Thread(target=decide), threading.Thread(target=kill)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return told["decide"]


def _actions_on_record(cp: ControlPlane, record: RunRecord) -> bool:
    updates = node_updates(cp.events.read(record.run_id, count=500))
    executed = [
        a for u in updates for a in u.of_kind(ActionRecorded) if a.record.status == "executed"
    ]
    return bool(executed) or "actions already called" in (record.reason or "")


def test_twenty_races_between_a_kill_and_an_approval(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    statuses: list[str] = []
    try:
        for i in range(20):
            run_id = svc.submit("steps", {"job_id": f"k{i}", "amount": 500}, who=APPROVER).run_id
            wait_status(cp, run_id, {"waiting"})
            [esc] = cp.escalations.for_run(run_id)
            told = _race(svc, cp, run_id, esc.escalation_id)
            done = wait_status(cp, run_id, TERMINAL, timeout=30)
            effect = raw.hget("test:effects", f"k{i}")
            statuses.append(done.status)
            assert done.status in {"killed", "succeeded"}
            if told == "refused":  # told the run is stopped: it is, and nothing was done
                assert done.status == "killed"
                assert effect is None
            if done.status == "killed" and effect is not None:
                assert _actions_on_record(cp, done), run_id  # never hidden by the kill
            if done.status == "succeeded":
                assert told == "recorded"
                assert effect == b"1"
    finally:
        worker.stop()
    assert "killed" in statuses


def test_a_run_killed_while_waiting_stays_listed_as_killed_after_its_worker_goes_on(
    server: ServerUnderTest, executors: Executors
) -> None:
    """The worker's next execution must not send the waiting run's index writes again: they
    were sent without reading their replies, and the health check of a connection idle for
    its interval read one of them for its PING's answer, dropped the connection and sent them
    again, after the kill (the run was listed as waiting and killed, for good)."""
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url, health_check_interval=1)
    svc = RunService(cp, Registry(), lambda run_id: None, raw=raw)
    executor = executors(cp, raw, svc.registry, worker="t", config=ExecutorConfig())
    large = json.loads((EXAMPLES / "large_order.json").read_text())
    waiting = svc.submit("procurement", large, who=ADMIN).run_id
    assert executor.execute(waiting) == "waiting"
    svc.kill("run", waiting, who=ADMIN, reason="wrong supplier")
    time.sleep(1.5)  # past the connection's health-check interval
    assert executor.execute(svc.submit("procurement", SMALL, who=ADMIN).run_id) == "succeeded"
    assert [r.run_id for r in cp.runs.list(status="waiting").items] == []
    assert [r.run_id for r in cp.runs.list(status="killed").items] == [waiting]
    assert cp.runs.counts()["waiting"] == 0


def test_a_run_started_as_its_hold_is_cleared_is_not_held_by_the_cache(
    server: ServerUnderTest, executors: Executors
) -> None:
    """The worker's switches in memory follow a clear a moment later (its nudge): a run queued
    in that moment was held again (a released hold's run stayed held for good)."""
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    svc = RunService(cp, Registry(), lambda run_id: None, raw=raw)
    executor = executors(cp, raw, svc.registry, worker="t", config=ExecutorConfig())
    svc.hold("workflow", "procurement", who=ADMIN, reason="deploy")
    deadline = time.monotonic() + 5
    while executor.kills.check(workflow="procurement", kind="hold") is None:
        assert time.monotonic() < deadline, "the worker never saw the hold"
        time.sleep(0.01)
    cp.client.delete(switch_key("workflow", "procurement", "hold"))  # cleared, nudge not yet in
    run_id = svc.submit("procurement", SMALL, who=ADMIN).run_id
    assert executor.execute(run_id) == "succeeded"

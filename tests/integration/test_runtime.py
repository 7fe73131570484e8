"""The runtime with real processes: workers on RQ, leases, kills, restarts (issue 4)."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from rq.scheduler import RQScheduler

from graph.runtime.replay import replay_run
from state.control.errors import RunFinished
from tests.integration.runtime import (
    ADMIN,
    APPROVER,
    WorkerProcess,
    service,
    wait_for,
    wait_status,
)
from tests.redis_servers import ServerUnderTest, decoded

TERMINAL = {"succeeded", "failed", "rejected", "killed"}


def _job(job_id: str, **fields: object) -> dict[str, object]:
    return {"job_id": job_id, **fields}


def test_a_run_executes_on_a_worker(server: ServerUnderTest, tmp_path: Path) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        record = svc.submit("steps", _job("j1"), who=APPROVER)
        done = wait_status(cp, record.run_id, TERMINAL)
        assert done.status == "succeeded"
        assert done.worker == "w1"
        kinds = [e.kind for e in cp.events.read(record.run_id)]
        assert kinds.count("node") == 7  # three stages, three gates, the act node
        assert raw.hget("test:effects", "j1") == b"1"
    finally:
        worker.stop()


def test_sigkill_at_random_points_loses_no_run_and_repeats_no_action(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    n = 12
    runs = [svc.submit("steps", _job(f"k{i}", sleep_s=0.5), who=APPROVER).run_id for i in range(n)]
    rng = random.Random(7)
    kills_mid_run = 0
    # Random kills may land on one run at one checkpoint three times: that is a poison run by
    # design (test_poison.py), not what this test is about.
    patient = {"WAYBILL_MAX_ATTEMPTS": "100"}
    for i in range(10):
        name = f"doomed{i}"
        worker = WorkerProcess(server.url, tmp_path, name, env=patient)

        def busy(name: str = name) -> bool:
            return any(
                r.status == "running" and r.worker == name for r in cp.runs.list(limit=n).items
            )

        try:
            wait_for(busy, 15, f"{name} to pick up a run")
            kills_mid_run += 1
        except AssertionError:
            pass  # nothing left for it to do
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere inside a node, a gate or a checkpoint
        worker.kill()  # the whole process group: the worker and its work horse
    assert kills_mid_run >= 6, "the kills must land while runs execute"
    survivor = WorkerProcess(server.url, tmp_path, "survivor", env=patient)
    try:
        for run_id in runs:
            record = wait_status(cp, run_id, TERMINAL, timeout=90)
            assert record.status == "succeeded", f"{run_id}: {record.reason}"
        effects = raw.hgetall("test:effects")
        assert {decoded(k): int(v) for k, v in effects.items()} == {f"k{i}": 1 for i in range(n)}
    finally:
        survivor.stop()


def test_a_frozen_worker_loses_its_run_and_its_writes_are_refused(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    frozen = WorkerProcess(server.url, tmp_path, "frozen")
    record = svc.submit("steps", _job("f1", sleep_s=3), who=APPROVER)
    wait_for(lambda: cp.runs.get(record.run_id).stage == "slow", 20, "the slow stage")
    frozen.signal(signal.SIGSTOP)
    other = WorkerProcess(server.url, tmp_path, "other")
    try:
        done = wait_status(cp, record.run_id, TERMINAL, timeout=40)
        assert done.status == "succeeded"
        assert done.worker == "other"
        history = cp.events.read(record.run_id, count=1000)
        frozen.signal(signal.SIGCONT)  # it wakes up inside the slow node, holding a stale token
        wait_for(lambda: "lease lost" in frozen.output(), 20, "the frozen worker to give up")
        time.sleep(0.5)
        assert cp.runs.get(record.run_id).status == "succeeded"
        assert cp.events.read(record.run_id, count=1000) == history  # it wrote nothing
        assert raw.hget("test:effects", "f1") == b"1"
    finally:
        frozen.signal(signal.SIGCONT)
        frozen.stop()
        other.stop()


def test_kill_during_a_slow_node_stops_within_the_grace(
    server: ServerUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        record = svc.submit("steps", _job("s1", sleep_s=30), who=APPROVER)
        wait_for(lambda: cp.runs.get(record.run_id).stage == "slow", 20, "the slow stage")
        time.sleep(0.3)
        tripped = time.monotonic()
        svc.kill("run", record.run_id, who=ADMIN, reason="runaway")
        done = wait_status(cp, record.run_id, TERMINAL, timeout=10)
        elapsed = time.monotonic() - tripped
        assert done.status == "killed"
        assert "runaway" in (done.reason or "")
        assert elapsed <= 1 + 1 + 0.5, f"stopped after {elapsed:.2f}s (grace 1s)"
        # its replay goes as far as the run did, to the node the kill stopped, and says so
        monkeypatch.setenv("REDIS_URL", server.url)  # the steps workflow's effect store
        replayed = replay_run(cp, raw, svc.registry, record.run_id)
        assert (replayed.replayed_status, replayed.identical) == ("killed", True)
        assert replayed.replayed == replayed.recorded
        assert len(replayed.recorded) > 2
        # the worker survives the hard stop and keeps serving
        again = svc.submit("steps", _job("s2"), who=APPROVER)
        assert wait_status(cp, again.run_id, TERMINAL).status == "succeeded"
    finally:
        worker.stop()


def test_an_approval_of_a_killed_run_is_refused(server: ServerUnderTest, tmp_path: Path) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        record = svc.submit("steps", _job("big", amount=500), who=APPROVER)
        wait_status(cp, record.run_id, {"waiting"})
        [esc] = cp.escalations.for_run(record.run_id)
        assert svc.kill("run", record.run_id, who=ADMIN, reason="wrong supplier") == 1
        assert cp.runs.get(record.run_id).status == "killed"
        with pytest.raises(RunFinished, match="killed"):
            svc.decide(esc.escalation_id, "approve", who=APPROVER, run_id=record.run_id)
        assert raw.hget("test:effects", "big") is None
    finally:
        worker.stop()


def test_escalation_approved_after_worker_and_redis_restart(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "before")
    record = svc.submit("steps", _job("r1", amount=500), who=APPROVER)
    wait_status(cp, record.run_id, {"waiting"})
    worker.stop()
    cp.close()
    server.restart()
    svc, cp, raw = service(server.url)
    after = WorkerProcess(server.url, tmp_path, "after")
    try:
        [esc] = cp.escalations.list_pending()
        assert esc.run_id == record.run_id
        svc.decide(esc.escalation_id, "approve", who=APPROVER, comment="ok")
        done = wait_status(cp, record.run_id, TERMINAL)
        assert done.status == "succeeded"
        assert done.worker == "after"
        assert raw.hget("test:effects", "r1") == b"1"
    finally:
        after.stop()


def test_notify_action_runs_after_the_veto_window(server: ServerUnderTest, tmp_path: Path) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        record = svc.submit("steps", _job("n1", notify=True), who=APPROVER)
        wait_status(cp, record.run_id, {"waiting"})
        [esc] = cp.escalations.for_run(record.run_id)
        assert esc.kind == "veto"
        assert raw.hget("test:effects", "n1") is None  # not before the window ends
        done = wait_status(cp, record.run_id, TERMINAL, timeout=30)
        assert done.status == "succeeded"
        [esc] = cp.escalations.for_run(record.run_id)
        assert esc.decision is not None
        assert esc.decision.user == "system:veto-window"
        assert raw.hget("test:effects", "n1") == b"1"
    finally:
        worker.stop()


def test_a_veto_within_the_window_cancels_the_action(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        record = svc.submit("steps", _job("n2", notify=True), who=APPROVER)
        wait_status(cp, record.run_id, {"waiting"})
        [esc] = cp.escalations.for_run(record.run_id)
        svc.decide(esc.escalation_id, "reject", who=APPROVER, comment="not today")
        done = wait_status(cp, record.run_id, TERMINAL, timeout=30)
        assert done.status == "rejected"
        assert "vetoed by april" in (done.reason or "")
        time.sleep(2.5)  # past the window: the scheduled auto-approval must lose
        [esc] = cp.escalations.for_run(record.run_id)
        assert esc.decision is not None
        assert esc.decision.action == "reject"
        assert raw.hget("test:effects", "n2") is None
    finally:
        worker.stop()


def test_a_veto_window_ends_on_another_worker_after_a_restart(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    first = WorkerProcess(server.url, tmp_path, "first")
    record = svc.submit("steps", _job("n3", notify=True), who=APPROVER)
    wait_status(cp, record.run_id, {"waiting"})
    first.stop()  # the window's end is a scheduled job in Redis, not a timer in this worker
    # Its scheduler's lock was released on the way out (it used to stay a minute, so the next
    # worker's scheduler could not enqueue the window's end until then).
    assert not raw.exists(RQScheduler.get_locking_key("waybill"))
    second = WorkerProcess(server.url, tmp_path, "second")
    try:
        done = wait_status(cp, record.run_id, TERMINAL, timeout=30)
        assert done.status == "succeeded"
        assert done.worker == "second"
        assert raw.hget("test:effects", "n3") == b"1"
    finally:
        second.stop()


def test_a_veto_window_ends_on_time_after_its_worker_was_killed_outright(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """SIGKILL leaves the dead worker's scheduler lock behind (up to a minute): the next worker
    on this host sees its holder's process is gone and takes the lock over, so the window's end
    is enqueued on time instead of a minute late."""
    svc, cp, raw = service(server.url)
    first = WorkerProcess(server.url, tmp_path, "first")
    lock = RQScheduler.get_locking_key("waybill")
    wait_for(lambda: raw.get(lock) == b"first-scheduler", 20, "the first worker's scheduler")
    record = svc.submit("steps", _job("n4", notify=True), who=APPROVER)
    wait_status(cp, record.run_id, {"waiting"})
    first.kill()  # SIGKILL: no lock released, no registration retired
    assert raw.get(lock) == b"first-scheduler"
    second = WorkerProcess(server.url, tmp_path, "second")
    try:
        done = wait_status(cp, record.run_id, TERMINAL, timeout=20)
        assert done.status == "succeeded"
        assert raw.hget("test:effects", "n4") == b"1"
        assert raw.get(lock) == b"second-scheduler"
        assert "took over the lock of first-scheduler" in second.output()
    finally:
        second.stop()

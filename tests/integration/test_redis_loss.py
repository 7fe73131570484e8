"""Redis lost in the middle of a run: retried with backoff, then the run fails with a reason."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue, Worker

from graph.runtime import executor as executor_module
from graph.runtime.executor import ExecutorConfig
from graph.runtime.runner import compile_chain, run_config
from graph.runtime.session import RunSession
from state.checkpoint import RedisSaver
from state.checkpoint.client import sync_client
from state.control.plane import ControlPlane
from state.nodes import act_node
from state.run_events import ActionRecorded, NodeUpdate, node_updates
from tests.integration.runtime import ADMIN, APPROVER, Executors, WorkerProcess, service, wait_for
from tests.redis_servers import ServerUnderTest
from tests.workflows import steps


def _outage(
    server: ServerUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    executors: Executors,
    outage_s: float,
    wait_s: float,
) -> tuple[str, str, int, ControlPlane, Any]:
    """A run in its slow stage loses Redis for ``outage_s``; its executor waits ``wait_s``."""
    monkeypatch.setenv("REDIS_URL", server.url)  # the steps workflow's effect store
    svc, cp, _ = service(server.url)
    raw = sync_client(server.url)
    run_id = svc.submit("steps", {"job_id": f"lost{outage_s}", "sleep_s": 2.0}, who=APPROVER).run_id
    executor = executors(
        ControlPlane(cp.client),
        raw,
        svc.registry,
        worker="t",
        config=ExecutorConfig(lease_ttl_s=60, redis_outage_s=wait_s),
    )
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(executor.execute(run_id)))
    thread.start()
    wait_for(lambda: cp.runs.get(run_id).stage == "slow", 20, "the slow stage")
    before = len(list(RedisSaver(raw).list(run_config(run_id))))
    server.stop()
    time.sleep(outage_s)
    server.start()
    thread.join(timeout=120)
    assert result, "the executor returned"
    return run_id, result[0], before, ControlPlane.from_url(server.url), raw


def test_a_15s_redis_outage_is_waited_out_and_the_run_resumes(
    server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch, executors: Executors
) -> None:
    """Longer than the client's own retries (~8 s of backoff): the executor's wait takes over."""
    run_id, status, before, cp, raw = _outage(server, monkeypatch, executors, 15, 60)
    assert status == "succeeded"
    assert cp.runs.get(run_id).status == "succeeded"
    assert raw.hget("test:effects", "lost15") == b"1"
    chain = steps.build_chain()
    history = list(compile_chain(chain, RedisSaver(raw)).get_state_history(run_config(run_id)))
    assert len(history) > before >= 3  # acknowledged checkpoints survived (AOF), then it went on
    nodes = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
    assert nodes.count("slow") == 1


def test_an_outage_longer_than_the_wait_fails_the_run_with_a_reason(  # here: no wait
    server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch, executors: Executors
) -> None:
    run_id, status, before, cp, raw = _outage(server, monkeypatch, executors, 15, 0)
    assert status == "failed"
    record = cp.runs.get(run_id)
    assert record.status == "failed"
    assert "lost the connection to Redis for more than 0s mid-run" in (record.reason or "")
    chain = steps.build_chain()
    history = list(compile_chain(chain, RedisSaver(raw)).get_state_history(run_config(run_id)))
    assert len(history) >= before >= 3  # acknowledged checkpoints survived the outage (AOF)


def test_inline_hard_stop_fences_out_the_node_still_running(
    server: ServerUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    executors: Executors,
) -> None:
    """Without an RQ job to stop, a hard-stopped run is killed and its node can't write."""
    monkeypatch.setenv("REDIS_URL", server.url)
    svc, cp, raw = service(server.url)
    run_id = svc.submit("steps", {"job_id": "hs", "sleep_s": 4.0}, who=APPROVER).run_id
    executor = executors(
        cp,
        sync_client(server.url),
        svc.registry,
        worker="inline",
        config=ExecutorConfig(kill_grace_s=1),
    )
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(executor.execute(run_id)))
    thread.start()
    wait_for(lambda: cp.runs.get(run_id).stage == "slow", 20, "the slow stage")
    svc.kill("run", run_id, who=ADMIN, reason="stuck")
    record = wait_for(
        lambda: cp.runs.get(run_id).status == "killed" and cp.runs.get(run_id), 5, "the kill"
    )
    assert "hard stop" in (record.reason or "")
    thread.join(timeout=30)
    assert result == ["lease-lost"]  # the node returned, and its checkpoint was refused
    assert cp.runs.get(run_id).status == "killed"
    assert raw.hget("test:effects", "hs") is None
    history = list(RedisSaver(raw).list(run_config(run_id)))
    steps = [c.checkpoint["channel_values"].get("steps", 0) for c in history]
    assert max(steps) == 1  # only "first" ever completed; the slow node's result never landed


class _CrashBeforeCheckpointError(BaseException):
    """Stands for the process dying between a node's saved writes and its checkpoint (a
    ``BaseException``: nothing catches a death)."""


def test_resume_after_a_crash_between_a_nodes_writes_and_its_checkpoint(
    server: ServerUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    executors: Executors,
) -> None:
    monkeypatch.setenv("REDIS_URL", server.url)
    svc, cp, raw = service(server.url)
    run_id = svc.submit("steps", {"job_id": "cw"}, who=APPROVER).run_id
    puts = {"n": 0}

    class Crashing(RedisSaver):
        def put(self, *args: Any, **kwargs: Any) -> Any:
            puts["n"] += 1
            if puts["n"] == 4:  # after the slow stage's writes were saved by put_writes
                raise _CrashBeforeCheckpointError
            return super().put(*args, **kwargs)

    monkeypatch.setattr(executor_module, "RedisSaver", Crashing)
    config = ExecutorConfig(lease_ttl_s=0.5)
    first = executors(cp, sync_client(server.url), svc.registry, worker="a", config=config)
    with pytest.raises(_CrashBeforeCheckpointError):
        first.execute(run_id)
    snap = compile_chain(steps.build_chain(), RedisSaver(raw)).get_state(run_config(run_id))
    assert snap.next == ()  # the saved writes hide the pending task from ``next``...
    assert [t.name for t in snap.tasks]  # ...but the run is not over
    monkeypatch.setattr(executor_module, "RedisSaver", RedisSaver)
    second = executors(cp, sync_client(server.url), svc.registry, worker="b", config=config)
    assert second.execute(run_id) == "succeeded"
    assert raw.hget("test:effects", "cw") == b"1"
    # The slow stage's update was never streamed (its node did not re-run): its event was
    # re-derived from the checkpoint, once.
    nodes = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
    assert nodes.count("slow") == 1
    assert nodes == ["first", "gate first->slow", "slow", "gate slow->finish", "finish",
                     "gate finish->END", "act finish"]  # fmt: skip


def test_a_worker_that_dies_between_a_checkpoint_and_its_event_leaves_no_hole(
    server: ServerUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    executors: Executors,
) -> None:
    """The effect ran and its checkpoint was saved; the event was not: resumed, it is written."""
    monkeypatch.setenv("REDIS_URL", server.url)
    svc, cp, raw = service(server.url)
    run_id = svc.submit("steps", {"job_id": "ev"}, who=APPROVER).run_id
    config = ExecutorConfig(lease_ttl_s=0.5)
    first = executors(cp, sync_client(server.url), svc.registry, worker="a", config=config)
    real = RunSession.event

    def dies_at_the_act_event(self: RunSession, key: str, stage: str, data: Any) -> None:
        if NodeUpdate.model_validate(data).node == act_node("finish"):
            raise _CrashBeforeCheckpointError  # the process dies right after the checkpoint
        real(self, key, stage, data)

    with monkeypatch.context() as patched:
        patched.setattr(RunSession, "event", dies_at_the_act_event)
        with pytest.raises(_CrashBeforeCheckpointError):
            first.execute(run_id)
    assert raw.hget("test:effects", "ev") == b"1"
    time.sleep(0.6)  # the dead worker's lease expires
    second = executors(cp, sync_client(server.url), svc.registry, worker="b", config=config)
    assert second.execute(run_id) == "succeeded"
    nodes = [u.node.name for u in node_updates(cp.events.read(run_id, count=500))]
    assert nodes.count("act finish") == 1
    updates = node_updates(cp.events.read(run_id, count=500))
    [act] = [u for u in updates if u.node == act_node("finish")]
    assert [a.record.status for a in act.of_kind(ActionRecorded)] == ["executed"]
    assert raw.hget("test:effects", "ev") == b"1"  # and the effect still ran once


def test_a_worker_started_while_redis_is_down_waits_for_it_then_works(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """A worker (re)started during a Redis restart rides it out instead of exiting."""
    server.stop()
    worker = WorkerProcess(server.url, tmp_path, "patient", env={"WAYBILL_REDIS_OUTAGE_S": "60"})
    try:
        wait_for(lambda: "; waiting up to 60s" in worker.output(), 30, "the worker to say it waits")
        assert worker.proc.poll() is None, worker.output()
        brief = WorkerProcess(server.url, tmp_path, "brief", env={"WAYBILL_REDIS_OUTAGE_S": "1"})
        assert brief.proc.wait(timeout=60) == 1  # its patience ran out: the one-line error
        assert brief.output().splitlines()[-1].startswith("waybill: cannot reach Redis at")
        assert "Traceback" not in brief.output()
        server.start()
        svc, cp, raw = service(server.url)
        run_id = svc.submit("steps", {"job_id": "patient", "sleep_s": 0.0}, who=APPROVER).run_id
        wait_for(lambda: cp.runs.get(run_id).status == "succeeded", 60, "the run to succeed")
        assert raw.hget("test:effects", "patient") == b"1"
    finally:
        worker.stop()
    assert "Traceback" not in worker.output()


def test_a_running_worker_says_an_outage_in_a_line_or_two_not_a_traceback_a_second(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Its loops (scheduler, sweep, notifications, kill switches) fail every tick while Redis is
    down: each says so once, and once more when it is back; then it executes runs again."""
    worker = WorkerProcess(server.url, tmp_path, "calm", env={"WAYBILL_REDIS_OUTAGE_S": "60"})
    try:
        svc, cp, _raw = service(server.url)
        first = svc.submit("steps", {"job_id": "before", "sleep_s": 0.0}, who=APPROVER).run_id
        wait_for(lambda: cp.runs.get(first).status == "succeeded", 60, "a first run")
        server.stop()
        wait_for(lambda: "scheduler: Redis is unavailable" in worker.output(), 30, "a warning")
        time.sleep(4)  # the scheduler ticks every second: several failed ticks
        server.start()
        wait_for(lambda: "scheduler: Redis is reachable again" in worker.output(), 30, "its end")
        svc, cp, _raw = service(server.url)
        run_id = svc.submit("steps", {"job_id": "after", "sleep_s": 0.0}, who=APPROVER).run_id
        wait_for(lambda: cp.runs.get(run_id).status == "succeeded", 60, "the run to succeed")
    finally:
        worker.stop()
    out = worker.output()
    assert "Traceback" not in out
    assert out.count("scheduler: Redis is unavailable") == 1
    assert out.count("sweep: Redis is unavailable") <= 1
    assert out.count("kill switches: Redis is unavailable") <= 1


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_a_worker_stopped_while_redis_is_down_says_so_in_one_line(
    server: ServerUnderTest, tmp_path: Path, outage: str
) -> None:
    """Asked to stop (Ctrl+C; ``waybill up`` stopping its workers when its Redis keeps dying),
    a worker whose Redis is gone, or frozen (it accepts connections and never answers), cannot
    deregister: it says that in a line, with no traceback, and within seconds, not after riding
    the outage out (a Ctrl+C took ~25 s with Redis gone, and minutes with Redis frozen)."""
    worker = WorkerProcess(server.url, tmp_path, "leaving", env={"WAYBILL_REDIS_OUTAGE_S": "60"})
    pid = int(server.client().info("server")["process_id"])
    try:
        queue = Queue("waybill", connection=redis.Redis.from_url(server.url))
        wait_for(lambda: Worker.count(queue=queue) == 1, 30, "the worker to listen")
        if outage == "stopped":
            server.stop()
        else:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(1.5)  # its loops meet the outage
        worker.signal(signal.SIGTERM)
        # one try to deregister and one to settle its job, each giving up within 2 s
        assert worker.proc.wait(timeout=8) == 1
    finally:
        if outage == "frozen":
            os.kill(pid, signal.SIGCONT)
        worker.stop()
    out = worker.output()
    assert "Traceback" not in out, out
    assert out.splitlines()[-1].startswith("waybill: lost the connection to Redis ("), out

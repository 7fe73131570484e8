"""The lean worker: one long-lived work process executes job after job (no fork per job); a
hard stop replaces it, and the stopped job is not retried."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import redis
from rq import Queue

from console.launch import descendants
from graph.runtime.workproc import BEAT_EVERY_S, LeanWorker
from tests.integration.runtime import (
    ADMIN,
    APPROVER,
    WorkerProcess,
    service,
    wait_for,
    wait_status,
)
from tests.redis_servers import ServerUnderTest

TERMINAL = {"succeeded", "failed", "rejected", "killed"}
_TICK = os.sysconf("SC_CLK_TCK")


def _reaped_cpu_ticks(pid: int) -> int:
    """``cutime + cstime`` of ``pid``: CPU of the children it has waited for (a worker that
    forks a work horse per job reaps one per job)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[13]) + int(fields[14])


def _work_process(worker: WorkerProcess) -> int:
    found: list[int] = wait_for(lambda: descendants(worker.proc.pid), 20, "the work process")
    [pid] = found  # the scheduler and the sweeper are threads of it, not processes
    return pid


def test_one_work_process_executes_every_job(server: ServerUnderTest, tmp_path: Path) -> None:
    svc, cp, _ = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        pid = _work_process(worker)
        ids = [svc.submit("steps", {"job_id": f"j{i}"}, who=APPROVER).run_id for i in range(12)]
        for run_id in ids:
            assert wait_status(cp, run_id, TERMINAL).status == "succeeded"
        assert descendants(worker.proc.pid) == [pid]  # the same process did them all
        assert _reaped_cpu_ticks(worker.proc.pid) == 0  # and nothing was forked and reaped
    finally:
        worker.stop()


def test_a_hard_stop_replaces_the_work_process_and_is_not_retried(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, raw = service(server.url)
    worker = WorkerProcess(server.url, tmp_path, "w")
    try:
        pid = _work_process(worker)
        run_id = svc.submit("steps", {"job_id": "h1", "sleep_s": 30}, who=APPROVER).run_id
        wait_for(lambda: cp.runs.get(run_id).stage == "slow", 20, "the slow stage")
        svc.kill("run", run_id, who=ADMIN, reason="runaway")
        done = wait_status(cp, run_id, TERMINAL, timeout=10)
        assert done.status == "killed"
        assert "hard stop" in (done.reason or "")
        replaced = wait_for(lambda: [p for p in descendants(worker.proc.pid) if p != pid], 20, "")
        assert len(replaced) == 1
        queue = Queue("waybill", connection=raw)
        wait_for(lambda: queue.failed_job_registry.count == 1, 10, "the stopped job settled")
        time.sleep(1.5)  # a retry would be scheduled 1 s after
        assert queue.scheduled_job_registry.count == 0
        assert queue.count == 0
        again = svc.submit("steps", {"job_id": "h2"}, who=APPROVER).run_id
        assert wait_status(cp, again, TERMINAL).status == "succeeded"
    finally:
        worker.stop()


def test_rq_beats_and_states_cost_a_round_trip_only_when_they_say_something(
    redis_url: str,
) -> None:
    """RQ beats three times per job and sets ``idle`` twice, each on a round trip of its own;
    the lean worker skips a beat within ``BEAT_EVERY_S`` of the last and a state it already
    wrote, and never one with a timeout of its own or a new state."""
    conn = redis.Redis.from_url(redis_url)
    worker = LeanWorker([Queue("beats", connection=conn)], connection=conn, name="beats-w")
    worker.register_birth()
    try:
        conn.hset(worker.key, "last_heartbeat", "untouched")
        worker.heartbeat()  # born a moment ago: skipped
        assert conn.hget(worker.key, "last_heartbeat") == b"untouched"
        worker.heartbeat(timeout=120)  # a timeout of its own (a long job): written
        assert conn.hget(worker.key, "last_heartbeat") != b"untouched"
        conn.hset(worker.key, "last_heartbeat", "untouched")
        assert worker.last_heartbeat is not None
        worker.last_heartbeat -= timedelta(seconds=BEAT_EVERY_S + 1)
        worker.heartbeat()  # due: written
        assert conn.hget(worker.key, "last_heartbeat") != b"untouched"

        worker.set_state("idle")
        conn.hset(worker.key, "state", "untouched")
        worker.set_state("idle")  # already written: skipped
        assert conn.hget(worker.key, "state") == b"untouched"
        worker.set_state("busy")
        assert conn.hget(worker.key, "state") == b"busy"
    finally:
        worker.register_death()  # type: ignore[no-untyped-call]

"""The lean worker: one long-lived work process executes job after job (no fork per job); a
hard stop replaces it, and the stopped job is not retried."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rq import Queue

from console.launch import descendants
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

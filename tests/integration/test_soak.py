"""Soak: workers SIGKILLed and Redis killed -9 (AOF on) at random points while runs go on.

Bounded for CI (``WAYBILL_SOAK_RUNS``, ``WAYBILL_SOAK_S`` make it larger). Every run ends
terminal or waiting; no acknowledged checkpoint or audit entry is lost; each side effect
happens once; every node that ran appears in the run's events.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import redis

from graph.runtime.runner import compile_chain, run_config
from state.checkpoint import RedisSaver
from state.control.plane import ControlPlane
from state.run_events import node_updates
from tests.integration.runtime import APPROVER, WorkerProcess, service, wait_for
from tests.redis_servers import ServerUnderTest, decoded
from tests.workflows import steps

RUNS = int(os.environ.get("WAYBILL_SOAK_RUNS", "10"))
CHAOS_S = float(os.environ.get("WAYBILL_SOAK_S", "12"))
SETTLED = {"succeeded", "failed", "rejected", "killed", "waiting"}
WORKER_ENV = {"WAYBILL_MAX_ATTEMPTS": "20", "WAYBILL_REDIS_OUTAGE_S": "120"}


def _checkpoints(raw: redis.Redis, run_ids: list[str]) -> dict[str, int]:
    saver = RedisSaver(raw)
    return {r: len(list(saver.list(run_config(r)))) for r in run_ids}


def _nodes_that_ran(raw: redis.Redis, run_id: str) -> set[str]:
    graph = compile_chain(steps.build_chain(), RedisSaver(raw))
    return {
        t.name
        for snap in graph.get_state_history(run_config(run_id))
        for t in snap.tasks
        if isinstance(t.result, dict) and not t.name.startswith("__")
    }


def _settled(cp: ControlPlane, run_ids: list[str]) -> bool:
    try:
        return all(cp.runs.get(r).status in SETTLED for r in run_ids)
    except redis.RedisError:
        return False


@pytest.mark.parametrize("server", ["redis7"], indirect=True)
def test_soak_kills_of_workers_and_redis_lose_nothing(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    rng = random.Random(11)
    svc, cp, raw = service(server.url)
    jobs = [{"job_id": f"s{i}", "sleep_s": rng.uniform(0.0, 0.6)} for i in range(RUNS)]
    run_ids = [svc.submit("steps", job, who=APPROVER).run_id for job in jobs]
    workers = [WorkerProcess(server.url, tmp_path, f"w{i}", env=WORKER_ENV) for i in range(2)]
    kills: dict[str, int] = {"worker": 0, "redis": 0}
    deadline = time.monotonic() + CHAOS_S
    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.5, 2.0))
            if rng.random() < 0.6:
                i = rng.randrange(len(workers))
                workers[i].kill()
                workers[i] = WorkerProcess(server.url, tmp_path, f"w{i}", env=WORKER_ENV)
                kills["worker"] += 1
            else:
                before = _checkpoints(raw, run_ids)
                audited = cp.audit.count()
                server.kill()
                time.sleep(rng.uniform(0.3, 2.5))
                server.start()
                after = _checkpoints(raw, run_ids)
                assert all(after[r] >= before[r] for r in run_ids), "acknowledged writes lost"
                assert cp.audit.count() >= audited
                kills["redis"] += 1
        wait_for(lambda: _settled(cp, run_ids), 180, "every run to settle", tick=0.5)
    finally:
        for w in workers:
            w.stop()
    assert kills["worker"], kills
    assert kills["redis"], kills
    records = {r: cp.runs.get(r) for r in run_ids}
    effects = {decoded(k): int(v) for k, v in raw.hgetall("test:effects").items()}
    for job, run_id in zip(jobs, run_ids, strict=True):
        record = records[run_id]
        asked = [e.request.get("why") for e in cp.escalations.for_run(run_id)]
        assert record.status == "succeeded", f"{run_id}: {record.status} {record.reason} {asked}"
        assert effects.get(str(job["job_id"])) == 1  # the side effect happened once
        evented = {u.node.name for u in node_updates(cp.events.read(run_id, count=1000))}
        assert _nodes_that_ran(raw, run_id) <= evented, run_id
    assert cp.audit.verify().ok
    assert _ok(kills)


def _ok(kills: dict[str, int]) -> bool:
    return sum(kills.values()) >= 3

"""Sections 2 and 3 of the runtime benchmark: real ``waybill worker`` processes.

CPU is read from ``/proc`` for each worker's whole process tree (whatever processes a worker
uses to execute its jobs), and from ``INFO cpu`` for the Redis server; both include what the
workers do in the background while the runs go (heartbeats, sweeps).
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import redis
from rq import Queue, Worker

from bench.measure import cpu_of_tree, median, server_cpu
from bench.workers import ROOT, start_workers, stop_workers, wait, workers_at_least
from graph.runtime.principal import Principal
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from state.control.runs import run_hash_key
from state.control.users import ScryptParams, UserStore

EXAMPLES = ROOT / "agents" / "procurement" / "examples"
BATCH = 40
ROUNDS = 5


def small_order() -> dict[str, Any]:
    """The procurement example every section runs."""
    order: dict[str, Any] = json.loads((EXAMPLES / "small_order.json").read_text())
    return order


class Fleet:
    """A run service queueing to ``waybill worker`` processes on one Redis."""

    def __init__(self, url: str, data_dir: Path, who: Principal) -> None:
        self.url = url
        self.data_dir = data_dir
        self.who = who
        self.cp = ControlPlane.from_url(url)
        self.queue = Queue("waybill", connection=redis.Redis.from_url(url))
        self.service = RunService(self.cp, Registry(), self._enqueue, raw=self.queue.connection)

    def _enqueue(self, run_id: str) -> None:
        enqueue_run(self.queue, run_id)

    def start(self, k: int) -> list[Any]:
        """``k`` workers, listening."""
        workers = start_workers(self.url, self.data_dir, k)
        wait(partial(workers_at_least, self.queue, k))
        return workers

    def warm(self, k: int, jobs: int = 2) -> None:
        """Run small batches until each of the ``k`` workers listening has executed ``jobs``
        runs (its first run imports and compiles what later ones reuse)."""
        for _ in range(50):
            done = [w.successful_job_count for w in Worker.all(queue=self.queue)]
            if len(done) >= k and min(done) >= jobs:
                return
            self.batch(k)
        raise TimeoutError("the workers did not all take a run")

    def submit(self, n: int, request: dict[str, Any] | None = None) -> list[str]:
        """Submit ``n`` small orders (or ``request`` to procurement)."""
        body = request or small_order()
        return [self.service.submit("procurement", body, who=self.who).run_id for _ in range(n)]

    def succeeded(self, ids: list[str]) -> bool:
        """Whether every run in ``ids`` succeeded (one round trip)."""
        pipe = self.cp.client.pipeline(transaction=False)
        for run_id in ids:
            pipe.hget(run_hash_key(run_id), "status")
        return all(status == "succeeded" for status in pipe.execute())

    def drained(self, remaining: list[str]) -> bool:
        """Whether the runs of ``remaining`` (oldest first) all succeeded; the ones found
        succeeded at its head are dropped from it. One round trip for at most 8 runs, so that
        watching costs the server little beside the workers it measures."""
        pipe = self.cp.client.pipeline(transaction=False)
        for run_id in remaining[:8]:
            pipe.hget(run_hash_key(run_id), "status")
        statuses = pipe.execute()
        if any(status in ("failed", "killed", "rejected") for status in statuses):
            raise RuntimeError(f"a benchmark run ended {statuses}")
        done = next((i for i, status in enumerate(statuses) if status != "succeeded"), None)
        del remaining[: len(statuses) if done is None else done]
        return not remaining

    def batch(self, n: int) -> float:
        """Seconds from submitting ``n`` runs to all of them succeeded (polled every 10 ms)."""
        start = time.perf_counter()
        ids = self.submit(n)
        wait(partial(self.drained, ids), 300, tick=0.01)
        return time.perf_counter() - start


def _latency(fleet: Fleet, n: int = 20) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        [run_id] = fleet.submit(1)
        wait(partial(fleet.succeeded, [run_id]))
        samples.append(time.perf_counter() - start)
    return samples


def worker_rows(fleet: Fleet, server: redis.Redis) -> None:
    """Section 2: latency and CPU with one worker, then throughput with 1 and 2, interleaved."""
    [worker] = fleet.start(1)
    fleet.warm(1)
    latency = _latency(fleet)
    cpu, redis_cpu = [], []
    for _ in range(ROUNDS):
        before, server_before = cpu_of_tree(worker.pid), server_cpu(server)
        fleet.batch(BATCH)
        cpu.append((cpu_of_tree(worker.pid) - before) / BATCH)
        redis_cpu.append((server_cpu(server) - server_before) / BATCH)
    stop_workers([worker])
    rates: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(ROUNDS):
        for k in (1, 2):
            workers = fleet.start(k)
            fleet.warm(k)
            rates[k].append(BATCH / fleet.batch(BATCH))
            stop_workers(workers)
    one, two = median(rates[1]), median(rates[2])
    print("\n2. Worker processes (procurement small orders)")
    print(f"   submit -> succeeded, idle worker:      {median(latency) * 1000:7.1f} ms (median)")
    print(f"   CPU per run, the worker's processes:   {median(cpu) * 1000:7.1f} ms")
    print(f"   CPU per run, the Redis server:         {median(redis_cpu) * 1000:7.1f} ms")
    print(f"   throughput, 1 worker:  {one:6.1f} runs/s   ({ROUNDS} rounds of {BATCH}, median)")
    print(f"   throughput, 2 workers: {two:6.1f} runs/s   {two / one:.2f}x one worker")


def _listed(cp: ControlPlane, run_id: str) -> bool:
    return any(e.run_id == run_id for e in cp.escalations.list_pending())


def _status_in(cp: ControlPlane, run_id: str, statuses: tuple[str, ...]) -> bool:
    return cp.runs.get(run_id).status in statuses


def _at_stage(cp: ControlPlane, run_id: str, stage: str) -> bool:
    return cp.runs.get(run_id).stage == stage


FINANCE = Principal("fay", "approver")


def reactions_rows(fleet: Fleet, queue: Queue) -> None:
    """Section 3: how soon an escalation is listed, a decided run resumes and a killed run
    stops, with one worker."""
    cp, service, who = fleet.cp, fleet.service, fleet.who
    large = json.loads((EXAMPLES / "large_order.json").read_text())
    # Four eyes: a member of finance (not the bench user who starts the runs) approves.
    UserStore(cp.client, params=ScryptParams(n=2**10)).add(FINANCE.name, FINANCE.role, "bench-pw")
    cp.groups.join(FINANCE.name, "finance")
    workers = fleet.start(1)
    listed: list[float] = []
    resumed: list[float] = []
    for _ in range(15):
        [run_id] = fleet.submit(1, large)
        wait(partial(_listed, cp, run_id))
        seen = time.time()
        [esc] = cp.escalations.for_run(run_id)
        listed.append(seen - esc.created_at.timestamp())
        t = time.time()
        service.decide(esc.escalation_id, "approve", who=FINANCE, run_id=run_id)
        wait(partial(_status_in, cp, run_id, ("running", "succeeded")))
        resumed.append(time.time() - t)
    stopped: list[float] = []
    for i in range(10):
        run_id = service.submit("steps", {"job_id": f"k{i}", "sleep_s": 0.3}, who=who).run_id
        wait(partial(_at_stage, cp, run_id, "slow"))
        t = time.time()
        service.kill("run", run_id, who=who, reason="bench")
        wait(partial(_status_in, cp, run_id, ("killed",)))
        stopped.append(time.time() - t)
    stop_workers(workers)
    print("\n3. Reactions (1 worker)")
    print(f"   {'what':<58} {'median ms':>10}")
    for name, samples in (
        ("escalation created -> listed by the control plane", listed),
        ("decision -> resumed run running again", resumed),
        ("kill tripped -> run killed (node of 0.3 s, next boundary)", stopped),
    ):
        print(f"   {name:<58} {median(samples) * 1000:>10.1f}")

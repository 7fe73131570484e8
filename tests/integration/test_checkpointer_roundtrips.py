"""Round trips, counted at the client: one per super-step, one per ``get_tuple``; and what
the server ran for them, counted by Redis (``INFO commandstats``).

A round trip is counted each time a connection starts reading replies after sending (a
pipeline of many commands is one). The writes of a step are sent without waiting and read
back with the step's checkpoint, so a step costs one round trip, in which Redis runs two
scripts (the writes', the checkpoint's); ``get_tuple`` is one script.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from state.checkpoint import RedisSaver
from tests.integration.checkpoint_helpers.graphs import build_counter_graph
from tests.integration.checkpoint_helpers.growth import (
    ChatState,
    CountingConnection,
    DeltaChatState,
    build_chat_graph,
    counting_client,
)
from tests.redis_servers import ServerUnderTest


@pytest.fixture
def saver(shared_server: ServerUnderTest) -> Iterator[RedisSaver]:
    with RedisSaver(counting_client(shared_server.url)) as s:
        yield s


def _counted(run: Any) -> int:
    before = CountingConnection.round_trips
    run()
    return CountingConnection.round_trips - before


def _scripts(saver: RedisSaver) -> int:
    """Scripts Redis ran so far (``EVALSHA`` calls in ``INFO commandstats``)."""
    stats: dict[str, Any] = saver.client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _steps_cost(
    saver: RedisSaver, graph: Any, first: Any, steps: tuple[int, int]
) -> tuple[float, float]:
    """Round trips and scripts run by Redis per super-step: the difference between a short
    and a long run (after a warm-up run, so that opening connections is not counted)."""
    costs, scripts = [], []
    for n in (steps[0], *steps):
        config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": n + 9}
        before = _scripts(saver)
        costs.append(_counted(lambda c=config, n=n: graph.invoke(first(n), c, durability="sync")))
        scripts.append(_scripts(saver) - before)
    span = steps[1] - steps[0]
    return (costs[2] - costs[1]) / span, (scripts[2] - scripts[1]) / span


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_one_round_trip_per_super_step(saver: RedisSaver) -> None:
    counter = build_counter_graph().compile(checkpointer=saver)
    per_step, scripts = _steps_cost(
        saver, counter, lambda n: {"count": 0, "target": n, "payload": "p"}, (10, 40)
    )
    assert per_step == 1.0
    assert scripts == 2.0  # Redis ran two scripts in that round trip: the writes', the put's


@pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)
@pytest.mark.parametrize("state", [ChatState, DeltaChatState])
def test_one_round_trip_per_step_of_a_chat(saver: RedisSaver, state: type[Any]) -> None:
    # LangGraph waits for a DeltaChannel's writes before it calls put: they still share a trip
    chat = build_chat_graph(state).compile(checkpointer=saver)
    per_step, scripts = _steps_cost(saver, chat, lambda n: {"messages": [], "target": n}, (10, 40))
    assert per_step == 1.0
    assert scripts == 2.0


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_one_round_trip_per_get_tuple(saver: RedisSaver) -> None:
    graph = build_counter_graph().compile(checkpointer=saver)
    saver.get_tuple({"configurable": {"thread_id": "warm-up"}})
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 50}
    graph.invoke({"count": 0, "target": 5, "payload": "p"}, config)
    history = list(saver.list(config))
    got: list[Any] = []
    for target in (config, history[3].config):  # the latest, and one by id
        before = _scripts(saver)
        assert _counted(lambda t=target: got.append(saver.get_tuple(t))) == 1
        assert _scripts(saver) - before == 1  # and Redis ran one script for it
    assert len(got) == 2
    assert all(got)
    assert _counted(lambda: list(saver.list(config))) == 2  # namespaces, then one page

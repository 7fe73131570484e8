"""Graph-level behaviour on real Redis: time travel, forks, subgraphs, ``Send``, missing threads."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.types import Command

from state.checkpoint import RedisSaver
from tests.integration.checkpoint_helpers.graphs import (
    RECURSION_LIMIT,
    build_counter_graph,
    build_fanout_graph,
    build_parent_with_subgraph,
)
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)


@pytest.fixture
def saver(shared_server: ServerUnderTest) -> Iterator[RedisSaver]:
    with RedisSaver.from_url(shared_server.url) as s:
        yield s


def _config(thread_id: str, **extra: Any) -> Any:
    return {"configurable": {"thread_id": thread_id, **extra}, "recursion_limit": RECURSION_LIMIT}


def _tid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_time_travel_fork_keeps_both_branches(saver: RedisSaver) -> None:
    graph = build_counter_graph().compile(checkpointer=saver)
    config = _config(_tid("fork"))
    assert graph.invoke({"count": 0, "target": 5, "payload": "p"}, config)["count"] == 5
    history = list(graph.get_state_history(config))
    assert [s.values["count"] for s in history[:-1]] == [5, 4, 3, 2, 1, 0]
    at_two = next(s for s in history if s.values.get("count") == 2)

    # a new branch off the old checkpoint, writing `count` again with a different value
    forked = graph.update_state(at_two.config, {"count": 10, "target": 12})
    assert graph.invoke(None, {**forked, "recursion_limit": RECURSION_LIMIT})["count"] == 12

    latest = graph.get_state(config)
    assert latest.values["count"] == 12
    # the original branch is intact, value for value, although both branches wrote `count`
    # from the same parent version (the fork must not overwrite the original's values)
    original = [graph.get_state(s.config).values for s in history]
    assert original == [s.values for s in history]
    branch = list(graph.get_state_history(config))
    assert at_two.config["configurable"]["checkpoint_id"] in {
        s.config["configurable"]["checkpoint_id"] for s in branch
    }


def test_copy_thread_forks_a_run(saver: RedisSaver) -> None:
    graph = build_counter_graph().compile(checkpointer=saver)
    source, target = _config(_tid("src")), _config(_tid("dst"))
    graph.invoke({"count": 0, "target": 3, "payload": "p"}, source)
    saver.copy_thread(source["configurable"]["thread_id"], target["configurable"]["thread_id"])

    assert graph.get_state(target).values == graph.get_state(source).values
    src_ids = [s.config["configurable"]["checkpoint_id"] for s in graph.get_state_history(source)]
    dst_ids = [s.config["configurable"]["checkpoint_id"] for s in graph.get_state_history(target)]
    assert dst_ids == src_ids

    graph.update_state(target, {"target": 6})
    assert graph.invoke(None, target)["count"] == 6
    assert graph.get_state(source).values["count"] == 3  # the source did not move


def test_subgraph_interrupt_and_resume(saver: RedisSaver) -> None:
    graph = build_parent_with_subgraph().compile(checkpointer=saver)
    config = _config(_tid("sub"))
    graph.invoke({"text": "start"}, config)

    state = graph.get_state(config, subgraphs=True)
    assert state.next == ("review",)
    assert [i.value for i in state.interrupts] == ["ok?"]
    sub_state = state.tasks[0].state
    assert sub_state is not None
    assert not isinstance(sub_state, dict)
    assert sub_state.values == {"text": "start intro draft"}
    assert sub_state.next == ("confirm",)
    # the subgraph's checkpoints live in their own namespace of the same thread
    namespaces = {t.config["configurable"]["checkpoint_ns"] for t in saver.list(config)}
    assert "" in namespaces
    assert any(ns.startswith("review:") for ns in namespaces)

    result = graph.invoke(Command(resume="yes"), config)
    assert result == {"text": "start intro draft yes outro"}


def test_send_fan_out_resumes_only_the_interrupted_task(saver: RedisSaver) -> None:
    calls: Counter[int] = Counter()
    graph = build_fanout_graph(calls, pause_on=2).compile(checkpointer=saver)
    config = _config(_tid("send"))
    graph.invoke({"items": [0, 1, 2, 3, 4], "results": []}, config)

    state = graph.get_state(config)
    assert [i.value for i in state.interrupts] == [{"item": 2}]
    assert len(state.tasks) == 5  # the five Send tasks are pending

    result = graph.invoke(Command(resume="go"), config)
    assert sorted(result["results"]) == [0, 1, 4, 9, 16]
    # finished tasks' writes were kept as pending writes: only item 2 ran again
    assert calls == Counter({0: 1, 1: 1, 2: 2, 3: 1, 4: 1})


def test_send_fan_out_without_interrupt(saver: RedisSaver) -> None:
    graph = build_fanout_graph(Counter()).compile(checkpointer=saver)
    config = _config(_tid("send-all"))
    result = graph.invoke({"items": list(range(8)), "results": []}, config)
    assert sorted(result["results"]) == [i * i for i in range(8)]
    assert graph.get_state(config).values == result


def test_missing_thread_is_empty_not_an_error(saver: RedisSaver) -> None:
    thread = _tid("never-ran")
    config = _config(thread)
    assert saver.get_tuple(config) is None
    assert saver.get_tuple(_config(thread, checkpoint_id=str(uuid.uuid4()))) is None
    assert list(saver.list(config)) == []
    graph = build_counter_graph().compile(checkpointer=saver)
    snapshot = graph.get_state(config)
    assert snapshot.values == {}
    assert snapshot.next == ()
    assert snapshot.config == config
    assert saver.storage_keys(thread) == []
    saver.delete_thread(thread)  # a no-op, not an error


def test_list_without_thread_is_a_clear_error(saver: RedisSaver) -> None:
    with pytest.raises(ValueError, match="thread_id"):
        list(saver.list(None))


def test_delete_thread_removes_every_key(saver: RedisSaver, shared_server: ServerUnderTest) -> None:
    calls: Counter[int] = Counter()
    graph = build_fanout_graph(calls, pause_on=1).compile(checkpointer=saver)
    config = _config(_tid("delete"))
    graph.invoke({"items": [0, 1], "results": []}, config)
    thread = config["configurable"]["thread_id"]
    keys = saver.storage_keys(thread)
    assert keys
    assert shared_server.client().exists(*keys) == len(keys)

    saver.delete_thread(thread)
    assert shared_server.client().exists(*keys) == 0
    assert graph.get_state(config).values == {}


def test_prune_keeps_the_latest_state_and_frees_the_rest(saver: RedisSaver) -> None:
    graph = build_counter_graph().compile(checkpointer=saver)
    config = _config(_tid("prune"))
    thread = config["configurable"]["thread_id"]
    graph.invoke({"count": 0, "target": 10, "payload": "p" * 1000}, config)
    latest = graph.get_state(config)
    size_before = len(saver.storage_keys(thread))

    saver.prune([thread])

    assert [s.values for s in graph.get_state_history(config)] == [latest.values]
    assert len(saver.storage_keys(thread)) < size_before
    graph.update_state(config, {"target": 12})  # the run can go on from what was kept
    assert graph.invoke(None, config)["count"] == 12

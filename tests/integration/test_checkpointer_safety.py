"""Fencing refuses stale writers; loading never constructs classes named by stored data."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import ormsgpack
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_KW_ARGS, JsonPlusSerializer

from state.checkpoint import RedisSaver, StaleFenceError, UnsafeCheckpointDataError
from state.checkpoint.codec import full_blob, version_text
from state.checkpoint.layout import ThreadKeys, blob_field
from state.keys import fence_key
from tests.integration.checkpoint_helpers import tripwire
from tests.integration.checkpoint_helpers.graphs import RECURSION_LIMIT, build_counter_graph
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)


@pytest.fixture
def saver(shared_server: ServerUnderTest) -> Iterator[RedisSaver]:
    with RedisSaver.from_url(shared_server.url) as s:
        yield s


def _tid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_stale_fence_token_is_refused_and_writes_nothing(saver: RedisSaver) -> None:
    thread = _tid("fence")
    saver.client.set(fence_key(thread), "7")
    graph = build_counter_graph().compile(checkpointer=saver.with_fence(7))
    unfenced = build_counter_graph().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": RECURSION_LIMIT}
    graph.invoke({"count": 0, "target": 2, "payload": "p"}, config)
    keys_before = sorted(saver.storage_keys(thread))
    history_before = [s.config for s in graph.get_state_history(config)]

    saver.client.set(fence_key(thread), "8")  # another worker took the lease
    stale = saver.with_fence(7)
    stale_graph = build_counter_graph().compile(checkpointer=stale)
    with pytest.raises(StaleFenceError, match="stale fencing token 7"):
        stale_graph.update_state(config, {"target": 5})
    latest = saver.get_tuple(config)
    assert latest is not None
    with pytest.raises(StaleFenceError):
        stale.put_writes(latest.config, [("count", 99)], "task")
    with pytest.raises(StaleFenceError):
        stale.delete_thread(thread)
    source: Any = {**config, "configurable": {"thread_id": _tid("source")}}
    unfenced.invoke({"count": 0, "target": 1, "payload": "q"}, source)  # unfenced thread
    with pytest.raises(StaleFenceError):
        stale.copy_thread(source["configurable"]["thread_id"], thread)
    assert sorted(saver.storage_keys(thread)) == keys_before
    assert [s.config for s in graph.get_state_history(config)] == history_before
    assert latest.pending_writes == []

    # the current holder writes; an unfenced saver never checks
    saver.with_fence(8).delete_thread(thread)
    assert saver.get_tuple(config) is None


def test_missing_fence_key_refuses_a_fenced_writer(saver: RedisSaver) -> None:
    config: Any = {"configurable": {"thread_id": _tid("nofence"), "checkpoint_ns": ""}}
    with pytest.raises(StaleFenceError):
        saver.with_fence(1).put(config, empty_checkpoint(), {}, {})


def _store_with_blob(saver: RedisSaver, raw_blob: bytes) -> Any:
    """Put a checkpoint, then replace its one channel value by ``raw_blob`` as an attacker would."""
    thread = _tid("crafted")
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"data": "harmless"}
    checkpoint["channel_versions"] = {"data": version}
    config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    stored = saver.put(config, checkpoint, {}, {"data": version})
    field = blob_field("data", version_text(version).decode())
    saver.client.hset(ThreadKeys(thread).blobs(""), field, raw_blob)
    return stored


def test_crafted_blob_naming_a_class_is_not_instantiated(saver: RedisSaver) -> None:
    payload = (tripwire.__name__, "Tripwire", {"cmd": "rm -rf /"})
    crafted = ormsgpack.packb(
        ormsgpack.Ext(EXT_CONSTRUCTOR_KW_ARGS, ormsgpack.packb(payload)), option=0
    )
    stored = _store_with_blob(saver, full_blob(("msgpack", crafted)))
    tripwire.CONSTRUCTED.clear()

    loaded = saver.get_tuple(stored)
    assert loaded is not None
    assert loaded.checkpoint["channel_values"]["data"] == {"cmd": "rm -rf /"}  # inert data
    assert tripwire.CONSTRUCTED == []

    # the same bytes through LangGraph's permissive default would have built the class
    JsonPlusSerializer(allowed_msgpack_modules=True).loads_typed(("msgpack", crafted))
    assert len(tripwire.CONSTRUCTED) == 1


def test_pickled_blob_is_refused(saver: RedisSaver) -> None:
    stored = _store_with_blob(saver, full_blob(("pickle", pickle.dumps(tripwire.Tripwire()))))
    tripwire.CONSTRUCTED.clear()
    with pytest.raises(UnsafeCheckpointDataError, match="pickle"):
        saver.get_tuple(stored)
    assert tripwire.CONSTRUCTED == []

"""Acknowledged checkpoints survive a restart (AOF), and put/put_writes may land in any order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.serde.types import INTERRUPT
from langgraph.types import Interrupt

from state.checkpoint import AsyncRedisSaver, RedisSaver
from tests.integration.checkpoint_helpers.graphs import RECURSION_LIMIT, build_counter_graph
from tests.redis_servers import ServerUnderTest


def _summary(history: list[CheckpointTuple]) -> list[tuple[str, Any, Any]]:
    return [
        (t.config["configurable"]["checkpoint_id"], t.checkpoint["channel_values"], t.metadata)
        for t in history
    ]


def test_history_survives_restart_with_the_same_client(server: ServerUnderTest) -> None:
    # the saver is kept across the restart: its client must reconnect (retry with backoff)
    with RedisSaver.from_url(server.url) as saver:
        graph = build_counter_graph().compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "restart"}, "recursion_limit": RECURSION_LIMIT}
        graph.invoke({"count": 0, "target": 10, "payload": "x" * 100}, config)
        before = _summary(list(saver.list(config)))
        assert len(before) == 12

        server.restart()

        assert _summary(list(saver.list(config))) == before
        graph.update_state(config, {"target": 12})
        assert graph.invoke(None, config)["count"] == 12


def test_acknowledged_put_is_never_lost(server: ServerUnderTest) -> None:
    with RedisSaver.from_url(server.url) as saver:
        config: Any = {"configurable": {"thread_id": "ack", "checkpoint_ns": ""}}
        acknowledged = []
        for i in range(20):
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"n": i}
            checkpoint["channel_versions"] = {"n": saver.get_next_version(None, None)}
            config = saver.put(config, checkpoint, {"step": i}, checkpoint["channel_versions"])
            acknowledged.append(config["configurable"]["checkpoint_id"])
        server.stop()  # no clean shutdown handshake with the client: just gone, then back
        server.start()
        thread: Any = {"configurable": {"thread_id": "ack"}}
        listed = [t.config["configurable"]["checkpoint_id"] for t in saver.list(thread)]
        assert listed == acknowledged[::-1]


@pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)
def test_writes_put_before_their_checkpoint_are_kept(shared_server: ServerUnderTest) -> None:
    """``durability="async"`` may store a checkpoint's writes before the checkpoint itself."""

    async def one_round(saver: AsyncRedisSaver, writes_first: bool) -> None:
        thread = f"race-{uuid.uuid4().hex}"
        checkpoint = empty_checkpoint()
        config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        target: RunnableConfig = {
            **config,
            "configurable": {**config["configurable"], "checkpoint_id": checkpoint["id"]},
        }
        put = saver.aput(config, checkpoint, {"step": 1}, {})
        writes = saver.aput_writes(target, [(INTERRUPT, [Interrupt(value="ask", id="i1")])], "t")
        await asyncio.gather(*((writes, put) if writes_first else (put, writes)))
        stored = await saver.aget_tuple(config)
        assert stored is not None
        assert stored.pending_writes == [("t", INTERRUPT, [Interrupt(value="ask", id="i1")])]

    async def main() -> None:
        async with AsyncRedisSaver.from_url(shared_server.url) as saver:
            for i in range(50):
                await one_round(saver, writes_first=i % 2 == 0)

    asyncio.run(main())

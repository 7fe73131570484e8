"""Retention: every key of a thread expires together, by default TTL or ``expire_thread``."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from state.checkpoint import RedisSaver
from tests.integration.checkpoint_helpers.graphs import RECURSION_LIMIT, build_parent_with_subgraph
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.parametrize("shared_server", ["valkey", "redis7"], indirect=True)


def _run(saver: RedisSaver) -> tuple[str, Any]:
    thread = f"ttl-{uuid.uuid4().hex[:8]}"
    config: Any = {"configurable": {"thread_id": thread}, "recursion_limit": RECURSION_LIMIT}
    # a subgraph interrupts: checkpoints in two namespaces, pending writes, values
    build_parent_with_subgraph().compile(checkpointer=saver).invoke({"text": "go"}, config)
    return thread, config


def _wait_gone(saver: RedisSaver, keys: list[str], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while saver.client.exists(*keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert saver.client.exists(*keys) == 0


def test_expire_thread_removes_every_key_after_its_ttl(shared_server: ServerUnderTest) -> None:
    with RedisSaver.from_url(shared_server.url) as saver:
        thread, config = _run(saver)
        keys = list(saver.storage_keys(thread))
        assert len(keys) >= 8  # ns, runs, and 4 keys per namespace
        assert saver.expire_thread(thread, 0.5)
        assert all(0 < saver.client.pttl(k) <= 500 for k in keys)
        assert saver.get_tuple(config) is not None
        _wait_gone(saver, keys, 3.0)
        assert saver.get_tuple(config) is None
        assert not saver.expire_thread(thread, 1)  # nothing left to expire


def test_default_ttl_is_set_and_refreshed_on_every_write(shared_server: ServerUnderTest) -> None:
    with RedisSaver.from_url(shared_server.url, ttl={"default_ttl": 1 / 60}) as saver:  # 1 s
        thread, config = _run(saver)
        keys = list(saver.storage_keys(thread))
        assert all(0 < saver.client.pttl(k) <= 1000 for k in keys)
        time.sleep(0.6)
        latest = saver.get_tuple(config)
        assert latest is not None
        saver.put_writes(latest.config, [("text", "more")], "late-task")  # a write refreshes
        assert all(saver.client.pttl(k) > 600 for k in keys)
        _wait_gone(saver, keys, 3.0)

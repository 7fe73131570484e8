"""LangChain's own checkpointer conformance suite, on embedded Valkey and on Redis 7."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

from state.checkpoint import AsyncRedisSaver, RedisSaver
from tests.integration.checkpoint_helpers.adapter import SyncSaverAsAsync

# Capabilities the savers implement; every one must be detected and pass completely.
IMPLEMENTED = {
    "put",
    "put_writes",
    "get_tuple",
    "list",
    "delete_thread",
    "delete_for_runs",
    "copy_thread",
    "prune",
}


def _assert_passes(report: CapabilityReport) -> None:
    failures = {cap: r.failures for cap, r in report.results.items() if r.tests_failed}
    assert not failures, failures
    for cap in IMPLEMENTED:
        result = report.results[cap]
        assert result.detected, cap
        assert result.passed, (cap, result)
        assert result.tests_passed > 0, cap


def test_sync_saver_conformance(redis_url: str) -> None:
    # the suite uses fresh uuid4 thread ids, so it cannot disturb other users of the server
    async def factory() -> AsyncGenerator[BaseCheckpointSaver[str], None]:
        with RedisSaver.from_url(redis_url) as saver:
            yield SyncSaverAsAsync(saver)

    report = asyncio.run(validate(checkpointer_test(name="RedisSaver")(factory)))
    _assert_passes(report)


def test_async_saver_conformance(redis_url: str) -> None:
    async def factory() -> AsyncGenerator[BaseCheckpointSaver[str], None]:
        async with AsyncRedisSaver.from_url(redis_url) as saver:
            yield saver

    report = asyncio.run(validate(checkpointer_test(name="AsyncRedisSaver")(factory)))
    _assert_passes(report)

"""``AsyncRedisSaver``: the asyncio twin of ``RedisSaver`` (same keys, scripts and plans)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

import redis.asyncio
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint import plans, scripts
from state.checkpoint.client import async_client
from state.checkpoint.errors import StaleFenceError
from state.checkpoint.layout import ThreadKeys
from state.checkpoint.records import build_put, build_put_writes, next_version, thread_of
from state.checkpoint.serde import StrictSerializer

# a prune retries when a checkpoint lands between its read and its script
PRUNE_ATTEMPTS = 5
_USE_SYNC = "AsyncRedisSaver is asynchronous; use RedisSaver with invoke/stream"


class AsyncRedisSaver(BaseCheckpointSaver[str]):
    """The asyncio version of ``RedisSaver``; the data it stores is identical.

    Args:
        client: A ``redis.asyncio.Redis`` created with ``decode_responses=False``.
        fence_token: As for ``RedisSaver``: writes check the run's fence key first and raise
            ``StaleFenceError`` without writing when the token is stale.
        serde: Serializer; defaults to ``StrictSerializer()``.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde or StrictSerializer())
        self.client = client
        self.fence_token = fence_token
        self._owns_client = False
        self._apply = client.register_script(scripts.APPLY)
        self._delete = client.register_script(scripts.DELETE_THREAD)
        self._prune = client.register_script(scripts.PRUNE_KEEP_LATEST)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
        **client_options: Any,
    ) -> AsyncRedisSaver:
        """A saver with its own client for ``url`` (retries with backoff; see ``client``).

        Args:
            url: Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
            fence_token: As for the constructor.
            serde: As for the constructor.
            **client_options: Extra ``redis.asyncio.Redis`` options.
        """
        saver = cls(async_client(url, **client_options), fence_token=fence_token, serde=serde)
        saver._owns_client = True
        return saver

    def with_fence(self, token: int | None) -> Self:
        """A copy sharing this saver's client whose writes are fenced by ``token``."""
        clone = copy.copy(self)
        clone.fence_token = token
        clone._owns_client = False
        return clone

    async def aclose(self) -> None:
        """Close the client if ``from_url`` created it."""
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def _execute(self, request: plans.Request) -> list[Any]:
        async with self.client.pipeline(transaction=False) as pipe:
            for command in request.commands:
                pipe.execute_command(*command)
            return await pipe.execute()

    async def _run(self, plan: plans.Plan) -> Any:
        reply: list[Any] | None = None
        try:
            while True:
                reply = await self._execute(plan.send(reply))  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value

    async def _write(self, thread_id: str, call: scripts.ScriptCall) -> None:
        if call.empty and call.token is None:
            return  # nothing to write and nothing to check
        if await self._apply(keys=call.keys, args=call.args) == scripts.FENCED:
            raise StaleFenceError(thread_id, call.token or 0)

    # -- BaseCheckpointSaver ----------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """As ``RedisSaver.get_tuple``."""
        result: CheckpointTuple | None = await self._run(plans.get_tuple_plan(config, self.serde))
        return result

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """As ``RedisSaver.list``."""
        plan = plans.list_plan(config, filter=filter, before=before, limit=limit, serde=self.serde)
        reply: list[Any] | None = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration:
                return
            if isinstance(step, plans.Page):
                reply = None
                for item in step.tuples:
                    yield item
            else:
                reply = await self._execute(step)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """As ``RedisSaver.put``."""
        keys = ThreadKeys(thread_of(config)[0])
        call, stored = build_put(
            keys, config, checkpoint, metadata, new_versions, self.serde, self.fence_token
        )
        await self._write(keys.thread_id, call)
        return stored

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """As ``RedisSaver.put_writes``."""
        keys = ThreadKeys(thread_of(config)[0])
        call = build_put_writes(
            keys, config, writes, task_id, task_path, self.serde, self.fence_token
        )
        await self._write(keys.thread_id, call)

    async def adelete_thread(self, thread_id: str) -> None:
        """As ``RedisSaver.delete_thread``."""
        keys = ThreadKeys(thread_id)
        token = "" if self.fence_token is None else str(self.fence_token)
        if await self._delete(keys=[keys.fence, keys.namespaces], args=[token]) == scripts.FENCED:
            raise StaleFenceError(thread_id, self.fence_token or 0)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """As ``RedisSaver.copy_thread``."""
        plan = plans.copy_plan(source_thread_id, target_thread_id, self.fence_token)
        await self._write(target_thread_id, await self._run(plan))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """As ``RedisSaver.prune``."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
                continue
            for _attempt in range(PRUNE_ATTEMPTS):
                plan = plans.prune_plan(thread_id, self.fence_token, self.serde)
                keys, args = await self._run(plan)
                outcome = await self._prune(keys=keys, args=args)
                if outcome == scripts.FENCED:
                    raise StaleFenceError(thread_id, self.fence_token or 0)
                if outcome != scripts.STALE_PLAN:
                    break
            else:
                raise RuntimeError(f"thread {thread_id!r} kept changing while being pruned")

    def get_next_version(self, current: str | None, channel: None) -> str:
        """See ``records.next_version``."""
        return next_version(current)

    async def astorage_keys(self, thread_id: str) -> list[str]:
        """As ``RedisSaver.storage_keys``."""
        keys: list[str] = await self._run(plans.storage_keys_plan(thread_id))
        return keys

    # -- sync API: not offered by the async saver -------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Not supported: use ``RedisSaver``."""
        raise NotImplementedError(_USE_SYNC)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Not supported: use ``RedisSaver``."""
        raise NotImplementedError(_USE_SYNC)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Not supported: use ``RedisSaver``."""
        raise NotImplementedError(_USE_SYNC)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Not supported: use ``RedisSaver``."""
        raise NotImplementedError(_USE_SYNC)

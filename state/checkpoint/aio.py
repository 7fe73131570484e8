"""``AsyncRedisSaver``: the asyncio twin of ``RedisSaver`` (same keys, scripts and plans)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Self

import redis.asyncio
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint import maintenance, plans
from state.checkpoint.aiowire import AsyncWire
from state.checkpoint.client import async_client
from state.checkpoint.core import SCRIPTS, SaverCore, TTLConfig
from state.checkpoint.records import encode_writes, next_version, thread_of
from state.checkpoint.serde import StrictSerializer

_USE_SYNC = "AsyncRedisSaver is asynchronous; use RedisSaver with invoke/stream"


class AsyncRedisSaver(SaverCore, BaseCheckpointSaver[str]):
    """The asyncio version of ``RedisSaver``; the data it stores is identical.

    Args:
        client: A ``redis.asyncio.Redis`` created with ``decode_responses=False``.
        fence_token: As for ``RedisSaver``.
        serde: Serializer; defaults to ``StrictSerializer()``.
        ttl: As for ``RedisSaver``.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__(serde=serde or StrictSerializer())
        self._setup(fence_token, ttl)
        self.client = client
        self._owns_client = False
        self._wire = AsyncWire(client, SCRIPTS)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
        ttl: TTLConfig | None = None,
        **client_options: Any,
    ) -> AsyncRedisSaver:
        """A saver with its own client for ``url`` (retries with backoff; see ``client``);
        the other arguments are the constructor's, ``client_options`` go to the client."""
        client = async_client(url, **client_options)
        saver = cls(client, fence_token=fence_token, serde=serde, ttl=ttl)
        saver._owns_client = True
        return saver

    def with_fence(self, token: int | None) -> Self:
        """A copy sharing this saver's connection whose writes are fenced by ``token``."""
        clone = copy.copy(self)
        clone.fence_token = token
        clone._owns_client = False
        clone._last_put, clone._parents = {}, {}
        return clone

    async def aclose(self) -> None:
        """Read pending replies, close the connection (and the client if owned)."""
        await self._wire.aclose()
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, plan: plans.Plan) -> Any:
        reply: Any = None
        try:
            while True:
                request = plan.send(reply)
                reply = await self._wire.send(request.calls, wait=request.wait)
        except StopIteration as done:
            return done.value

    # -- BaseCheckpointSaver ----------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """As ``RedisSaver.get_tuple`` (one round trip; ``None`` if not found)."""
        plan = plans.get_tuple_plan(SCRIPTS, config, self.serde, self._refresh_ms)
        result: CheckpointTuple | None = await self._run(plan)
        return result

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints of ``config``'s thread, newest first, one round trip per page; every
        namespace unless the config names one; ``filter`` matches metadata exactly."""
        plan = plans.list_plan(
            SCRIPTS, config, filter=filter, before=before, limit=limit, serde=self.serde
        )
        reply: Any = None
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
                reply = await self._wire.send(step.calls, wait=step.wait)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and its new channel values atomically (one script).

        Its round trip also reads the replies of writes sent before it without waiting.

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        thread_id, ns, parent = thread_of(config)
        self._note_put(thread_id, ns, checkpoint["id"], parent)
        await self._run(plans.put_plan(self._writer(), config, checkpoint, metadata, new_versions,
                                 self.serde))  # fmt: skip
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                 "checkpoint_id": checkpoint["id"]}}  # fmt: skip

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes on a checkpoint (one script, independent of ``put``).

        Inside a graph run (the writes go to the checkpoint this saver stored last on that
        thread and namespace, and are not an error, interrupt, resume or scheduled write) the
        script is sent without waiting: its reply is read by the step's ``put``, which comes
        next on the same connection (a refused write raises there). Otherwise it waits.

        Raises:
            ValueError: ``config`` has no ``checkpoint_id``.
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        thread_id, ns, checkpoint_id = thread_of(config)
        if checkpoint_id is None:
            raise ValueError("put_writes needs a config with a checkpoint_id")
        entries = encode_writes(writes, task_id, task_path, self.serde)
        call = plans.put_writes_call(self._writer(), config, entries, checkpoint_id)
        wait = not self._may_defer(thread_id, ns, checkpoint_id, writes)
        await self._wire.send([call], wait=wait)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed of each ``DeltaChannel`` along the ancestors (one round trip)."""
        if not channels:
            return {}
        result: Mapping[str, DeltaChannelHistory] = await self._run(
            plans.history_plan(SCRIPTS, config, channels, self.serde)
        )
        return result

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, value and write of a thread (a no-op if it has none).

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        await self._run(maintenance.delete_thread_plan(self._writer(), thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) that LangGraph runs ``run_ids`` stored,
        in every thread, and the values no remaining checkpoint refers to.

        Deleting a run whose writes a later run's ``DeltaChannel`` rebuilds from breaks that
        channel (as LangGraph's docs warn for every saver).

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        await self._run(maintenance.delete_runs_plan(self._writer(), list(run_ids)))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread into another (used to fork a run).

        The whole parent chain is copied, so ``DeltaChannel`` values rebuild on the target.
        The target is written in one atomic script (fenced by the target's token if set);
        checkpoints it already had are kept. A missing source copies nothing.
        """
        await self._run(maintenance.copy_plan(self._writer(), source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Prune threads: ``"keep_latest"`` keeps each namespace's latest checkpoint, the
        ancestors its ``DeltaChannel``s rebuild from, their pending writes and the values they
        reference; ``"delete"`` deletes the threads.

        Raises:
            ValueError: Unknown strategy.
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
            else:
                await self._run(maintenance.prune_plan(self._writer(), thread_id, self.serde))

    async def aexpire_thread(self, thread_id: str, ttl_s: float) -> bool:
        """Make every key of a thread expire in ``ttl_s`` seconds (later writes keep that TTL
        on all of them). Returns False when the thread has no data.

        Raises:
            ValueError: ``ttl_s`` is not positive.
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")
        expired: bool = await self._run(
            maintenance.expire_plan(self._writer(), thread_id, max(1, round(ttl_s * 1000)))
        )
        return expired

    def get_next_version(self, current: str | None, channel: None) -> str:
        """See ``records.next_version``."""
        return next_version(current)

    async def astorage_keys(self, thread_id: str) -> Sequence[str]:
        """Every key holding this thread's checkpoint data (for size accounting and tests)."""
        keys: Sequence[str] = await self._run(
            maintenance.storage_keys_plan(self._writer(), thread_id)
        )
        return keys

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

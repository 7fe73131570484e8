"""``RedisSaver``: LangGraph's checkpointer on plain Redis data types (sync)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

import redis
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
from state.checkpoint.client import sync_client
from state.checkpoint.core import SCRIPTS, SaverCore, TTLConfig
from state.checkpoint.records import encode_writes, next_version, thread_of
from state.checkpoint.serde import StrictSerializer
from state.checkpoint.wire import Wire

_USE_ASYNC = "RedisSaver is synchronous; use AsyncRedisSaver with ainvoke/astream"


class RedisSaver(SaverCore, BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on Redis >= 6.2 or Valkey, using strings/hashes/zsets and Lua.

    A channel value is stored once per version, and an append-only list only as what each
    version added, so a step costs what it changed plus a small record. Every operation is one
    Lua script on the thread's keys, sent on one pipelined connection: a graph's super-step
    (its writes and its checkpoint) and a ``get_tuple`` each take one round trip.

    Args:
        client: A ``redis.Redis`` created with ``decode_responses=False`` (values are binary).
        fence_token: If given, every write first checks that the run's fence key (written by
            the lease module) still holds this token and raises ``StaleFenceError`` otherwise,
            writing nothing. Tokens are per run: use a fenced saver for that run's thread only.
        serde: Serializer; defaults to ``StrictSerializer()``, which never unpickles nor
            constructs classes outside an allowlist.
        ttl: Retention (``TTLConfig``): every key of a thread expires ``default_ttl`` minutes
            after its last write. ``expire_thread`` sets one thread's TTL explicitly.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__(serde=serde or StrictSerializer())
        self._setup(fence_token, ttl)
        self.client = client
        self._owns_client = False
        self._wire = Wire(client, SCRIPTS)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        fence_token: int | None = None,
        serde: SerializerProtocol | None = None,
        ttl: TTLConfig | None = None,
        **client_options: Any,
    ) -> RedisSaver:
        """A saver with its own client for ``url`` (retries with backoff; see ``client``);
        the other arguments are the constructor's, ``client_options`` go to the client."""
        client = sync_client(url, **client_options)
        saver = cls(client, fence_token=fence_token, serde=serde, ttl=ttl)
        saver._owns_client = True
        return saver

    @property
    def wire(self) -> Wire:
        """The saver's connection: a run's other writes may ride on its round trips."""
        return self._wire

    def with_fence(self, token: int | None, *, empty: str | None = None) -> Self:
        """A copy sharing this saver's connection whose writes are fenced by ``token``;
        ``empty``: a thread the caller (holding its lease) knows has no checkpoint yet."""
        clone = copy.copy(self)
        clone.fence_token, clone._empty = token, empty
        clone._owns_client = False
        clone._last_put, clone._parents = {}, {}
        return clone

    def close(self) -> None:
        """Send what is held, read every reply, close the connection (and an owned client)."""
        self._wire.close()
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, plan: plans.Plan) -> Any:
        reply: Any = None
        try:
            while True:
                request = plan.send(reply)
                reply = self._wire.send(request.calls, wait=request.wait)
        except StopIteration as done:
            return done.value

    # -- BaseCheckpointSaver ----------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config``, or the latest of its thread and namespace.

        One round trip. Returns ``None`` when the thread (or that checkpoint id) does not exist.
        """
        if self._known_empty(*thread_of(config)):
            return None
        plan = plans.get_tuple_plan(SCRIPTS, config, self.serde, self._refresh_ms)
        result: CheckpointTuple | None = self._run(plan)
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
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
                yield from step.tuples
            else:
                reply = self._wire.send(step.calls, wait=step.wait)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and its new channel values atomically (one script); its round
        trip also reads the replies of writes sent before it without waiting.

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        thread_id, ns, parent = thread_of(config)
        self._note_put(thread_id, ns, checkpoint["id"], parent)
        self._run(plans.put_plan(self._writer(), config, checkpoint, metadata, new_versions,
                                 self.serde))  # fmt: skip
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns,
                                 "checkpoint_id": checkpoint["id"]}}  # fmt: skip

    def put_writes(
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
        self._empty = None
        if checkpoint_id is None:
            raise ValueError("put_writes needs a config with a checkpoint_id")
        entries = encode_writes(writes, task_id, task_path, self.serde)
        call = plans.put_writes_call(self._writer(), config, entries, checkpoint_id)
        wait = not self._may_defer(thread_id, ns, checkpoint_id, writes)
        self._wire.send([call], wait=wait, flush=True)  # sent now; its reply read later

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed of each ``DeltaChannel`` along the ancestors (one round trip)."""
        if not channels:
            return {}
        result: Mapping[str, DeltaChannelHistory] = self._run(
            plans.history_plan(SCRIPTS, config, channels, self.serde)
        )
        return result

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, value and write of a thread (a no-op if it has none).

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        self._run(maintenance.delete_thread_plan(self._writer(), thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) that LangGraph runs ``run_ids`` stored,
        in every thread, and the values no remaining checkpoint refers to (a later run's
        ``DeltaChannel`` rebuilt from them breaks, as LangGraph warns for every saver).

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        self._run(maintenance.delete_runs_plan(self._writer(), list(run_ids)))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread into another (used to fork a run).

        The whole parent chain is copied, so ``DeltaChannel`` values rebuild on the target.
        The target is written in one atomic script (fenced by the target's token if set);
        checkpoints it already had are kept. A missing source copies nothing.
        """
        self._run(maintenance.copy_plan(self._writer(), source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
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
                self.delete_thread(thread_id)
            else:
                self._run(maintenance.prune_plan(self._writer(), thread_id, self.serde))

    def expire_thread(self, thread_id: str, ttl_s: float) -> bool:
        """Make every key of a thread expire in ``ttl_s`` seconds (later writes keep that TTL
        on all of them). Returns False when the thread has no data.

        Raises:
            ValueError: ``ttl_s`` is not positive.
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")
        ttl_ms = max(1, round(ttl_s * 1000))
        return bool(self._run(maintenance.expire_plan(self._writer(), thread_id, ttl_ms)))

    def get_next_version(self, current: str | None, channel: None) -> str:  # noqa: D102
        return next_version(current)

    def storage_keys(self, thread_id: str) -> Sequence[str]:
        """Every key holding this thread's checkpoint data (for size accounting and tests)."""
        keys: Sequence[str] = self._run(maintenance.storage_keys_plan(self._writer(), thread_id))
        return keys

    # -- async API: not offered by the sync saver (use AsyncRedisSaver) ----------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Not supported: use ``AsyncRedisSaver``."""
        raise NotImplementedError(_USE_ASYNC)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Not supported: use ``AsyncRedisSaver``."""
        raise NotImplementedError(_USE_ASYNC)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Not supported: use ``AsyncRedisSaver``."""
        raise NotImplementedError(_USE_ASYNC)

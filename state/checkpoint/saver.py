"""``RedisSaver``: LangGraph's checkpointer on plain Redis data types (sync)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, Self

import redis
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
from state.checkpoint.client import sync_client
from state.checkpoint.errors import StaleFenceError
from state.checkpoint.layout import ThreadKeys
from state.checkpoint.records import build_put, build_put_writes, next_version, thread_of
from state.checkpoint.serde import StrictSerializer

# a prune retries when a checkpoint lands between its read and its script
PRUNE_ATTEMPTS = 5
_USE_ASYNC = "RedisSaver is synchronous; use AsyncRedisSaver with ainvoke/astream"


class RedisSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on Redis >= 6.2 or Valkey, using strings/hashes/zsets and Lua.

    Channel values are stored once per (thread, namespace, channel, version), so a step costs
    the values it changed plus a small record, not a copy of the whole state. Each ``put`` and
    ``put_writes`` is one atomic Lua script on the thread's keys (see ``state.checkpoint.layout``).

    Args:
        client: A ``redis.Redis`` created with ``decode_responses=False`` (values are binary).
        fence_token: If given, every write first checks that the run's fence key (written by
            the lease module) still holds this token and raises ``StaleFenceError`` otherwise,
            writing nothing. Tokens are per run: use a fenced saver for that run's thread only.
        serde: Serializer; defaults to ``StrictSerializer()``, which never unpickles nor
            constructs classes outside an allowlist.
    """

    def __init__(
        self,
        client: redis.Redis,
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
    ) -> RedisSaver:
        """A saver with its own client for ``url`` (retries with backoff; see ``client``).

        Args:
            url: Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
            fence_token: As for the constructor.
            serde: As for the constructor.
            **client_options: Extra ``redis.Redis`` options.
        """
        saver = cls(sync_client(url, **client_options), fence_token=fence_token, serde=serde)
        saver._owns_client = True
        return saver

    def with_fence(self, token: int | None) -> Self:
        """A copy sharing this saver's client whose writes are fenced by ``token``."""
        clone = copy.copy(self)
        clone.fence_token = token
        clone._owns_client = False
        return clone

    def close(self) -> None:
        """Close the client if ``from_url`` created it."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _execute(self, request: plans.Request) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for command in request.commands:
            # redis-py's sync Pipeline leaves execute_command unannotated
            pipe.execute_command(*command)  # type: ignore[no-untyped-call]
        return pipe.execute()

    def _run(self, plan: plans.Plan) -> Any:
        reply: list[Any] | None = None
        try:
            while True:
                reply = self._execute(plan.send(reply))  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value

    def _write(self, thread_id: str, call: scripts.ScriptCall) -> None:
        if call.empty and call.token is None:
            return  # nothing to write and nothing to check
        if self._apply(keys=call.keys, args=call.args) == scripts.FENCED:
            raise StaleFenceError(thread_id, call.token or 0)

    # -- BaseCheckpointSaver ----------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config``, or the latest of its thread and namespace.

        Returns ``None`` when the thread (or that checkpoint id) does not exist.
        """
        result: CheckpointTuple | None = self._run(plans.get_tuple_plan(config, self.serde))
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints of ``config``'s thread, newest first, in pages of batched reads.

        Without ``checkpoint_ns`` in the config every namespace is listed; ``filter`` matches
        metadata keys exactly; ``before`` is exclusive.
        """
        plan = plans.list_plan(config, filter=filter, before=before, limit=limit, serde=self.serde)
        reply: list[Any] | None = None
        while True:
            try:
                step = plan.send(reply)
            except StopIteration:
                return
            if isinstance(step, plans.Page):
                reply = None
                yield from step.tuples
            else:
                reply = self._execute(step)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and the values of the channels in ``new_versions``, atomically.

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        keys = ThreadKeys(thread_of(config)[0])
        call, stored = build_put(
            keys, config, checkpoint, metadata, new_versions, self.serde, self.fence_token
        )
        self._write(keys.thread_id, call)
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes for the checkpoint in ``config``, atomically.

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        keys = ThreadKeys(thread_of(config)[0])
        call = build_put_writes(
            keys, config, writes, task_id, task_path, self.serde, self.fence_token
        )
        self._write(keys.thread_id, call)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, value and write of a thread (a no-op if it has none).

        Raises:
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        keys = ThreadKeys(thread_id)
        token = "" if self.fence_token is None else str(self.fence_token)
        if self._delete(keys=[keys.fence, keys.namespaces], args=[token]) == scripts.FENCED:
            raise StaleFenceError(thread_id, self.fence_token or 0)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread into another (used to fork a run).

        The target is written in one atomic script (fenced by the target's token if set);
        checkpoints it already had are kept. A missing source copies nothing.
        """
        call = self._run(plans.copy_plan(source_thread_id, target_thread_id, self.fence_token))
        self._write(target_thread_id, call)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Prune threads: ``"keep_latest"`` keeps each namespace's latest checkpoint, its
        pending writes and the values it references; ``"delete"`` deletes the threads.

        Not for graphs using LangGraph's beta ``DeltaChannel``, whose values are rebuilt from
        ancestor checkpoints that ``keep_latest`` removes.

        Raises:
            ValueError: Unknown strategy.
            StaleFenceError: The saver is fenced and its token is no longer current.
        """
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            for _attempt in range(PRUNE_ATTEMPTS):
                plan = plans.prune_plan(thread_id, self.fence_token, self.serde)
                keys, args = self._run(plan)
                outcome = self._prune(keys=keys, args=args)
                if outcome == scripts.FENCED:
                    raise StaleFenceError(thread_id, self.fence_token or 0)
                if outcome != scripts.STALE_PLAN:
                    break
            else:
                raise RuntimeError(f"thread {thread_id!r} kept changing while being pruned")

    def get_next_version(self, current: str | None, channel: None) -> str:
        """See ``records.next_version``."""
        return next_version(current)

    def storage_keys(self, thread_id: str) -> Sequence[str]:
        """Every key holding this thread's checkpoint data (for size accounting and tests)."""
        keys: Sequence[str] = self._run(plans.storage_keys_plan(thread_id))
        return keys

    # -- async API: not offered by the sync saver -------------------------------------------

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

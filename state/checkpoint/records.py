"""Encoding of checkpoints, channel values and writes into hash fields, and back.

Pure functions shared by the sync and async savers. ``build_put`` and ``build_put_writes``
turn one LangGraph call into one atomic ``APPLY`` script call; the ``decode_*`` functions
rebuild LangGraph objects from what the read plans fetched.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint.errors import DamagedCheckpointError
from state.checkpoint.layout import ThreadKeys, blob_field, write_field
from state.checkpoint.scripts import ScriptCall
from state.checkpoint.serde import EMPTY, pack, unpack


def text(value: str | bytes) -> str:
    """Redis replies are bytes (the client keeps binary values intact); ids are UTF-8 text."""
    return value.decode() if isinstance(value, bytes) else value


def thread_of(config: RunnableConfig) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` of a config; ns defaults to the root."""
    conf = config["configurable"]
    return str(conf["thread_id"]), str(conf.get("checkpoint_ns") or ""), conf.get("checkpoint_id")


def checkpoint_config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    """The config that names one stored checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def build_put(
    keys: ThreadKeys,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    serde: SerializerProtocol,
    token: int | None,
) -> tuple[ScriptCall, RunnableConfig]:
    """One atomic write for ``put``: the record, its index entry and only the new values.

    Channels absent from ``new_versions`` did not change: their values are already stored
    under the version the checkpoint references, so they are not written again.
    """
    _, ns, parent_id = thread_of(config)
    stripped = cast(dict[str, Any], checkpoint.copy())
    values: dict[str, Any] = stripped.pop("channel_values")
    call = ScriptCall(keys.fence, token)
    call.hset(keys.namespaces, ns, keys.base(ns))
    for channel, version in new_versions.items():
        typed = serde.dumps_typed(values[channel]) if channel in values else (EMPTY, b"")
        call.hset(keys.blobs(ns), blob_field(channel, version), pack(*typed))
    ck_type, ck_bytes = serde.dumps_typed(stripped)
    md_type, md_bytes = serde.dumps_typed(get_checkpoint_metadata(config, metadata))
    record = pack(ck_type, ck_bytes, md_type, md_bytes, parent_id)
    call.hset(keys.checkpoints(ns), checkpoint["id"], record)
    call.zadd(keys.index(ns), checkpoint["id"])
    return call, checkpoint_config(keys.thread_id, ns, checkpoint["id"])


def build_put_writes(
    keys: ThreadKeys,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
    serde: SerializerProtocol,
    token: int | None,
) -> ScriptCall:
    """One atomic write for ``put_writes``, independent of the checkpoint's own ``put``.

    Writes live in their own hash, which ``put`` never touches, so they are visible whichever
    of ``put`` and ``put_writes`` lands first (``durability="async"`` runs them concurrently).
    A regular write keeps its first value (retries are no-ops); special writes (error,
    interrupt, ...) use LangGraph's negative indices from ``WRITES_IDX_MAP`` and overwrite.
    """
    _, ns, checkpoint_id = thread_of(config)
    if checkpoint_id is None:
        raise ValueError("put_writes needs a config with a checkpoint_id")
    wkey = keys.writes(ns, checkpoint_id)
    call = ScriptCall(keys.fence, token)
    call.hset(keys.namespaces, ns, keys.base(ns))
    call.hset(keys.writes_keys(ns), checkpoint_id, wkey)
    for i, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel, i)
        typed = serde.dumps_typed(value)
        record = pack(task_id, idx, channel, task_path, *typed)
        if idx < 0:
            call.hset(wkey, write_field(task_id, idx), record)
        else:
            call.hsetnx(wkey, write_field(task_id, idx), record)
    return call


@dataclass(frozen=True)
class StoredCheckpoint:
    """A decoded checkpoint record, before its channel values and writes are attached."""

    id: str
    checkpoint: dict[str, Any]
    metadata: CheckpointMetadata
    parent_id: str | None

    def blob_fields(self) -> dict[str, str]:
        """Channel name -> field of the value this checkpoint references."""
        versions: Mapping[str, Any] = self.checkpoint.get("channel_versions", {})
        return {ch: blob_field(ch, ver) for ch, ver in versions.items()}


def decode_record(checkpoint_id: str, raw: bytes, serde: SerializerProtocol) -> StoredCheckpoint:
    """Decode one value of the ``ck`` hash.

    Raises:
        DamagedCheckpointError: The record is not one this saver wrote (wrong shape).
        UnsafeCheckpointDataError: It is not msgpack, or uses a refused encoding.
    """
    try:
        ck_type, ck_bytes, md_type, md_bytes, parent_id = unpack(raw)
        checkpoint = serde.loads_typed((ck_type, ck_bytes))
        metadata = serde.loads_typed((md_type, md_bytes))
    except (ValueError, TypeError) as exc:
        raise DamagedCheckpointError(f"checkpoint {checkpoint_id} is damaged: {exc}") from None
    if not (
        isinstance(checkpoint, dict)
        and isinstance(checkpoint.get("channel_versions"), dict)
        and isinstance(metadata, dict)
        and (parent_id is None or isinstance(parent_id, str))
    ):
        raise DamagedCheckpointError(f"checkpoint {checkpoint_id} is damaged: wrong shape")
    return StoredCheckpoint(
        id=checkpoint_id,
        checkpoint=checkpoint,
        metadata=cast(CheckpointMetadata, metadata),
        parent_id=parent_id,
    )


def decode_blob(raw: bytes | None, serde: SerializerProtocol) -> tuple[bool, Any]:
    """``(present, value)`` of one channel value; ``present`` is False for empty channels."""
    if raw is None:
        return False, None
    try:
        value_type, data = unpack(raw)
        if value_type == EMPTY:
            return False, None
        return True, serde.loads_typed((value_type, data))
    except (ValueError, TypeError) as exc:
        raise DamagedCheckpointError(f"a stored channel value is damaged: {exc}") from None


def decode_writes(raw: Mapping[bytes, bytes], serde: SerializerProtocol) -> list[PendingWrite]:
    """Pending writes of one checkpoint, in ``writes_sort_key`` order as LangGraph requires."""
    try:
        rows = [unpack(value) for value in raw.values()]
        rows.sort(key=lambda r: writes_sort_key(r[3], r[0], r[1]))
        return [(r[0], r[2], serde.loads_typed((r[4], r[5]))) for r in rows]
    except (ValueError, TypeError, IndexError) as exc:
        raise DamagedCheckpointError(f"a stored pending write is damaged: {exc}") from None


def assemble(
    thread_id: str,
    ns: str,
    stored: StoredCheckpoint,
    blobs: Mapping[str, bytes | None],
    writes: Mapping[bytes, bytes],
    serde: SerializerProtocol,
) -> CheckpointTuple:
    """Build the ``CheckpointTuple`` from a record, the fetched blobs and writes."""
    values: dict[str, Any] = {}
    for channel, fld in stored.blob_fields().items():
        present, value = decode_blob(blobs.get(fld), serde)
        if present:
            values[channel] = value
    checkpoint = cast(Checkpoint, {**stored.checkpoint, "channel_values": values})
    parent = checkpoint_config(thread_id, ns, stored.parent_id) if stored.parent_id else None
    return CheckpointTuple(
        config=checkpoint_config(thread_id, ns, stored.id),
        checkpoint=checkpoint,
        metadata=stored.metadata,
        parent_config=parent,
        pending_writes=decode_writes(writes, serde),
    )


def matches(metadata: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """True when every ``filter`` key equals the metadata value (LangGraph's semantics)."""
    return not filter or all(metadata.get(k) == v for k, v in filter.items())


def next_version(current: str | int | float | None) -> str:
    """Next channel version: a zero-padded counter plus a random fraction.

    The random part matters here: values are stored per (channel, version), and a fork
    (``update_state`` on an old checkpoint) bumps a channel from the same counter value as the
    original branch did. A bare counter would give both branches the same version and the fork
    would overwrite the original's value; the random fraction keeps them apart.
    """
    if current is None:
        counter = 0
    elif isinstance(current, int | float):
        counter = int(current)
    else:
        counter = int(current.split(".")[0])
    return f"{counter + 1:032}.{random.random():016}"

"""LangGraph objects to stored bytes and back: pure functions shared by both savers.

``encode_put`` and ``encode_writes`` turn one LangGraph call into one script's arguments;
``Blobs`` and ``decode_tuple`` rebuild LangGraph objects from what a read script returned.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

from state.checkpoint import codec, lists
from state.checkpoint.errors import DamagedCheckpointError, UnsafeCheckpointDataError
from state.checkpoint.layout import blob_field

# keys of a checkpoint that the record stores elsewhere (header, hash field) or rebuilds
_APART = ("id", "channel_values", "channel_versions", "versions_seen")


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


@dataclass
class EncodedPut:
    """A put as script arguments, plus the list tails to cache once it is stored."""

    record: bytes
    run_id: str
    blobs: list[tuple[bytes, bytes, bytes]]  # (field, blob, base field or b"")
    tails: dict[str, lists.Tail] = field(default_factory=dict)


def _blob(
    channel: str, version: Any, value: Any, tail: lists.Tail | None, serde: SerializerProtocol
) -> tuple[tuple[bytes, bytes, bytes], lists.Tail | None]:
    fld = blob_field(channel, codec.version_text(version).decode())
    typed = serde.dumps_typed(value)
    split = lists.split(typed[1]) if typed[0] == "msgpack" else None
    new_tail = lists.Tail(fld, split) if split is not None else None
    if split is not None and tail is not None and lists.extends(split, tail.value):
        added = split.elements[len(tail.value.elements) :]
        blob = codec.extension_blob(tail.field, split.count - tail.value.count, added)
        return (fld, blob, tail.field), new_tail
    return (fld, codec.full_blob(typed), b""), new_tail


def encode_put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    serde: SerializerProtocol,
    tails: Mapping[str, lists.Tail] | None = None,
) -> EncodedPut:
    """The record of ``checkpoint`` and the blobs of the channels in ``new_versions``.

    Channels absent from ``new_versions`` did not change: their values are stored already
    under the version the checkpoint references. ``tails`` (channel -> last list this saver
    stored) lets an appended list be stored as what it added; ``None`` stores it whole.
    """
    _, _, parent_id = thread_of(config)
    values = checkpoint["channel_values"]
    table, refs, seen = codec.intern_versions(
        checkpoint["channel_versions"], checkpoint.get("versions_seen", {})
    )
    rest = {k: v for k, v in checkpoint.items() if k not in _APART}
    md = dict(get_checkpoint_metadata(config, metadata))
    run_id = str(md.pop("run_id")) if isinstance(md.get("run_id"), str) else ""
    header = codec.Header(
        parent_id, run_id, table, {ch: (i, ch in values) for ch, i in refs.items()}
    )
    record = codec.encode_record(
        header, serde.dumps_typed({**rest, "versions_seen": seen}), serde.dumps_typed(md)
    )
    encoded = EncodedPut(record, run_id, [])
    for channel, version in new_versions.items():
        if channel not in values:
            continue  # no value (a DeltaChannel between snapshots): nothing to store
        tail = (tails or {}).get(channel)
        blob, new_tail = _blob(channel, version, values[channel], tail, serde)
        encoded.blobs.append(blob)
        if new_tail is not None:
            encoded.tails[channel] = new_tail
    return encoded


def encode_writes(
    writes: Sequence[tuple[str, Any]], task_id: str, task_path: str, serde: SerializerProtocol
) -> list[tuple[bytes, bool]]:
    """``(entry, overwrite)`` per write: special writes (error, interrupt, ...) use LangGraph's
    negative indices from ``WRITES_IDX_MAP`` and overwrite; a regular write keeps its first
    value, so a retried call is a no-op."""
    out = []
    for i, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel, i)
        entry = codec.WriteEntry(task_id, idx, channel, task_path, serde.dumps_typed(value))
        out.append((codec.encode_write(entry)[4:], idx < 0))
    return out


class Blobs:
    """Channel values fetched by a read script (``field, blob`` pairs), decoded on demand."""

    def __init__(self, pieces: Sequence[bytes], serde: SerializerProtocol) -> None:
        self._raw = dict(zip(pieces[0::2], pieces[1::2], strict=True))
        self._serde = serde
        self._lists: dict[bytes, lists.ListBytes] = {}

    def typed(self, fld: bytes) -> tuple[str, bytes] | None:
        """The serialized value at ``fld`` (extensions joined), or ``None`` if not stored.

        Raises:
            UnsafeCheckpointDataError: An extension's base is missing or not a list.
        """
        chain: list[tuple[int, bytes]] = []
        current: bytes | None = fld
        base: lists.ListBytes | None = None
        while current is not None:
            if current in self._lists:
                base = self._lists[current]
                break
            raw = self._raw.get(current)
            if raw is None:
                if chain:
                    raise UnsafeCheckpointDataError("a stored list extends a missing value")
                return None
            current, value_type, added, data = codec.parse_blob(raw)
            if current is None and not chain:
                return value_type, data  # a whole value: the common case
            if current is None:
                base = lists.split(data) if value_type == "msgpack" else None
                if base is None:
                    raise UnsafeCheckpointDataError("a stored list extends a value that is not")
            else:
                chain.append((added, data))
        assert base is not None
        elements = b"".join([base.elements, *(d for _, d in reversed(chain))])
        joined = lists.ListBytes(base.ext_code, base.count + sum(n for n, _ in chain), elements)
        self._lists[fld] = joined
        return "msgpack", lists.join(joined)

    def value(self, fld: bytes) -> tuple[bool, Any]:
        """``(present, value)`` at ``fld``."""
        typed = self.typed(fld)
        return (False, None) if typed is None else (True, self._serde.loads_typed(typed))


def decode_writes(raw: bytes | None, serde: SerializerProtocol) -> list[PendingWrite]:
    """Pending writes of one checkpoint, in ``writes_sort_key`` order as LangGraph requires."""
    entries = sorted(
        codec.decode_writes(raw), key=lambda e: writes_sort_key(e.task_path, e.task_id, e.idx)
    )
    return [(e.task_id, e.channel, serde.loads_typed(e.typed)) for e in entries]


@dataclass(frozen=True)
class Stored:
    """A decoded record, before its channel values are attached."""

    id: str
    header: codec.Header
    checkpoint: dict[str, Any]
    metadata: CheckpointMetadata

    def fields(self) -> dict[str, bytes]:
        """Channel -> blob field, for the channels this checkpoint has a value for."""
        versions = self.checkpoint["channel_versions"]
        return {
            ch: blob_field(ch, codec.version_text(versions[ch]).decode())
            for ch, (_, stored) in self.header.refs.items()
            if stored
        }


def decode_record(checkpoint_id: str, raw: bytes, serde: SerializerProtocol) -> Stored:
    """Rebuild the checkpoint (without values) and metadata of one record.

    Raises:
        DamagedCheckpointError: The record is not one this saver wrote (edited, truncated).
        UnsafeCheckpointDataError: It uses an encoding the strict serializer refuses.
    """
    try:
        header, ck_typed, md_typed = codec.decode_record(raw)
        body = dict(serde.loads_typed(ck_typed))
        metadata = dict(serde.loads_typed(md_typed))
        table = header.versions
        seen = body.pop("versions_seen", {})
        checkpoint = {
            **body,
            "id": checkpoint_id,
            "channel_versions": {ch: table[i] for ch, (i, _) in header.refs.items()},
            "versions_seen": {n: {ch: table[i] for ch, i in s.items()} for n, s in seen.items()},
        }
    except UnsafeCheckpointDataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DamagedCheckpointError(f"checkpoint {checkpoint_id} is damaged: {exc}") from None
    if header.run_id:
        metadata["run_id"] = header.run_id
    return Stored(checkpoint_id, header, checkpoint, cast(CheckpointMetadata, metadata))


def assemble(
    thread_id: str, ns: str, stored: Stored, blobs: Blobs, writes: bytes | None,
    serde: SerializerProtocol,
) -> CheckpointTuple:  # fmt: skip
    """The ``CheckpointTuple`` of a record, with its values and pending writes."""
    values: dict[str, Any] = {}
    for channel, fld in stored.fields().items():
        present, value = blobs.value(fld)
        if present:
            values[channel] = value
    checkpoint = cast(Checkpoint, {**stored.checkpoint, "channel_values": values})
    parent_id = stored.header.parent_id
    return CheckpointTuple(
        config=checkpoint_config(thread_id, ns, stored.id),
        checkpoint=checkpoint,
        metadata=stored.metadata,
        parent_config=checkpoint_config(thread_id, ns, parent_id) if parent_id else None,
        pending_writes=decode_writes(writes, serde),
    )


def matches(metadata: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """True when every ``filter`` key equals the metadata value (LangGraph's semantics)."""
    return not filter or all(metadata.get(k) == v for k, v in filter.items())


_SUFFIXES = random.Random()
"""Its own generator: checkpoint saves never draw from (nor reseed) the global ``random`` an
application may seed for its own reproducible runs."""


def next_version(current: str | int | float | None) -> str:
    """Next channel version: an 8-digit hex counter and a random 40-bit suffix (19 chars).

    Fixed width keeps string order equal to counter order. The random part matters: values
    are stored per (channel, version), and a fork (``update_state`` on an old checkpoint)
    bumps a channel from the same counter as the original branch did; without it both
    branches would name different values alike.
    """
    if current is None:
        counter = 0
    elif isinstance(current, int | float):
        counter = int(current)
    else:
        counter = int(current.split(".")[0], 16)
    return f"{counter + 1:08x}.{_SUFFIXES.getrandbits(40):010x}"

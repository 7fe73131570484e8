"""Read paths as I/O-free plans, driven by the sync and the async saver alike.

A plan is a generator that yields a ``Request`` (Redis commands to run in one pipeline, i.e.
one round trip) and is sent back the list of replies; ``list`` plans also yield ``Page``s of
finished tuples. Keeping the logic here means ``RedisSaver`` and ``AsyncRedisSaver`` cannot
drift apart: each only knows how to run a pipeline.

Every read is batched: ``get_tuple`` takes 2 round trips (3 for "latest"), and ``list`` takes
3 per page of up to ``PAGE_SIZE`` checkpoints whatever the page holds.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, get_checkpoint_id
from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint.layout import ThreadKeys
from state.checkpoint.records import (
    StoredCheckpoint,
    assemble,
    decode_record,
    matches,
    text,
    thread_of,
)
from state.checkpoint.scripts import ScriptCall

PAGE_SIZE = 100

Command = tuple[str | int | bytes, ...]


@dataclass
class Request:
    """Commands to run in one pipeline; the plan is sent their replies, in order."""

    commands: list[Command]


@dataclass
class Page:
    """Tuples ready for the caller of ``list``; the plan is sent ``None``."""

    tuples: list[CheckpointTuple] = field(default_factory=list)


Plan = Generator[Request, list[Any], Any]
ListPlan = Generator[Request | Page, Any, None]


def _materialize(
    keys: ThreadKeys, ns: str, stored: list[StoredCheckpoint], serde: SerializerProtocol
) -> Generator[Request, list[Any], list[CheckpointTuple]]:
    """Fetch the channel values and writes of several checkpoints in one round trip."""
    if not stored:
        return []
    fields = sorted({f for s in stored for f in s.blob_fields().values()})
    commands: list[Command] = [("HGETALL", keys.writes(ns, s.id)) for s in stored]
    if fields:
        commands.append(("HMGET", keys.blobs(ns), *fields))
    replies = yield Request(commands)
    blobs: dict[str, bytes | None] = dict(zip(fields, replies[-1], strict=True)) if fields else {}
    return [
        assemble(keys.thread_id, ns, s, blobs, writes, serde)
        for s, writes in zip(stored, replies[: len(stored)], strict=True)
    ]


def _decode_found(
    ids: list[str], raws: list[bytes | None], serde: SerializerProtocol
) -> list[StoredCheckpoint]:
    # A record can vanish between the index read and this one (a concurrent delete): skip it.
    return [decode_record(i, raw, serde) for i, raw in zip(ids, raws, strict=True) if raw]


def get_tuple_plan(config: RunnableConfig, serde: SerializerProtocol) -> Plan:
    """Plan of ``get_tuple``: the named checkpoint, or the latest of the namespace."""
    thread_id, ns, checkpoint_id = thread_of(config)
    keys = ThreadKeys(thread_id)
    if not checkpoint_id:
        (latest,) = yield Request([("ZREVRANGEBYLEX", keys.index(ns), "+", "-", "LIMIT", 0, 1)])
        if not latest:
            return None
        checkpoint_id = text(latest[0])
    (raw,) = yield Request([("HGET", keys.checkpoints(ns), checkpoint_id)])
    stored = _decode_found([checkpoint_id], [raw], serde)
    tuples = yield from _materialize(keys, ns, stored, serde)
    return tuples[0] if tuples else None


def list_plan(
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
    serde: SerializerProtocol,
) -> ListPlan:
    """Plan of ``list``: newest first, namespace by namespace, paged by ``PAGE_SIZE``.

    Raises:
        ValueError: ``config`` is ``None``; listing across all threads would need a scan of
            the whole keyspace, which this saver deliberately does not offer.
    """
    if config is None:
        raise ValueError("RedisSaver.list() needs a config with a thread_id")
    thread_id, _, only_id = thread_of(config)
    keys = ThreadKeys(thread_id)
    ns_given = config["configurable"].get("checkpoint_ns")
    if ns_given is None:
        (names,) = yield Request([("HKEYS", keys.namespaces)])
        namespaces = sorted(text(n) for n in names)
    else:
        namespaces = [str(ns_given)]
    before_id = get_checkpoint_id(before) if before else None
    remaining = limit
    for ns in namespaces:
        cursor = f"({before_id}" if before_id else "+"
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None or filter else min(remaining, PAGE_SIZE)
            if only_id:
                ids = [only_id] if not before_id or only_id < before_id else []
            else:
                (found,) = yield Request(
                    [("ZREVRANGEBYLEX", keys.index(ns), cursor, "-", "LIMIT", 0, size)]
                )
                ids = [text(i) for i in found]
            if not ids:
                break
            (raws,) = yield Request([("HMGET", keys.checkpoints(ns), *ids)])
            stored = [s for s in _decode_found(ids, raws, serde) if matches(s.metadata, filter)]
            if remaining is not None:
                stored = stored[:remaining]
                remaining -= len(stored)
            yield Page((yield from _materialize(keys, ns, stored, serde)))
            if only_id or len(ids) < size:
                break
            cursor = f"({ids[-1]}"


def storage_keys_plan(thread_id: str) -> Plan:
    """Plan listing every key that holds checkpoint data of a thread (for size accounting)."""
    keys = ThreadKeys(thread_id)
    (bases,) = yield Request([("HGETALL", keys.namespaces)])
    names = [text(n) for n in bases]
    result = [keys.namespaces] if names else []
    wkeys = yield Request([("HVALS", keys.writes_keys(ns)) for ns in names])
    for ns, writes in zip(names, wkeys, strict=True):
        result += [keys.index(ns), keys.checkpoints(ns), keys.blobs(ns), keys.writes_keys(ns)]
        result += [text(w) for w in writes]
    return result


def copy_plan(source: str, target: str, token: int | None) -> Plan:
    """Plan of ``copy_thread``: read the source, return one script call writing the target.

    The two threads have different hash tags (possibly different Cluster nodes), so the copy
    cannot be one script; the target side is written atomically in one call, and the source
    is read in two round trips. Stored records do not contain the thread id, so they are
    copied byte for byte; the target keeps any checkpoints it already had.
    """
    src, dst = ThreadKeys(source), ThreadKeys(target)
    (names,) = yield Request([("HKEYS", src.namespaces)])
    namespaces = [text(n) for n in names]
    per_ns: list[Command] = []
    for ns in namespaces:
        per_ns += [("HGETALL", src.checkpoints(ns)), ("HGETALL", src.blobs(ns))]
        per_ns.append(("HKEYS", src.writes_keys(ns)))
    replies = yield Request(per_ns)
    checkpoints, blobs, writer_ids = replies[0::3], replies[1::3], replies[2::3]
    write_ids = [[text(i) for i in ids] for ids in writer_ids]
    writes = yield Request(
        [
            ("HGETALL", src.writes(ns, i))
            for ns, ids in zip(namespaces, write_ids, strict=True)
            for i in ids
        ]
    )
    call = ScriptCall(dst.fence, token)
    pending = iter(writes)
    for ns, cks, bls, ids in zip(namespaces, checkpoints, blobs, write_ids, strict=True):
        call.hset(dst.namespaces, ns, dst.base(ns))
        for fld, value in bls.items():
            call.hset(dst.blobs(ns), text(fld), value)
        for cid, record in cks.items():
            call.hset(dst.checkpoints(ns), text(cid), record)
            call.zadd(dst.index(ns), text(cid))
        for cid in ids:
            call.hset(dst.writes_keys(ns), cid, dst.writes(ns, cid))
            for fld, value in next(pending).items():
                call.hset(dst.writes(ns, cid), text(fld), value)
    return call


def prune_plan(thread_id: str, token: int | None, serde: SerializerProtocol) -> Plan:
    """Plan of ``prune(keep_latest)`` for one thread: returns ``(keys, args)`` of the script.

    The latest checkpoint of each namespace is read here to learn which channel values it
    references; the script re-checks that nothing newer arrived before deleting anything.
    """
    keys = ThreadKeys(thread_id)
    (bases,) = yield Request([("HKEYS", keys.namespaces)])
    names = sorted(text(n) for n in bases)
    latest = yield Request(
        [("ZREVRANGEBYLEX", keys.index(ns), "+", "-", "LIMIT", 0, 1) for ns in names]
    )
    kept = [text(found[0]) if found else "" for found in latest]
    records = yield Request(
        [("HGET", keys.checkpoints(ns), cid) for ns, cid in zip(names, kept, strict=True)]
    )
    args: list[str] = ["" if token is None else str(token)]
    for ns, cid, raw in zip(names, kept, records, strict=True):
        fields = list(decode_record(cid, raw, serde).blob_fields().values()) if raw else []
        args += [keys.base(ns), cid, str(len(fields)), *fields]
    return [keys.fence, keys.namespaces], args

"""Every operation as an I/O-free plan, driven by the sync and the async saver alike.

A plan is a generator that yields a ``Request`` (calls to send in one flight: one round trip
when ``wait``) and is sent back the calls' replies; ``list`` plans also yield ``Page``s of
finished tuples. Keeping the logic here means ``RedisSaver`` and ``AsyncRedisSaver`` cannot
drift apart: each only knows how to send a request on its ``wire``.

Round trips: ``get_tuple``, ``put``, ``get_delta_channel_history``, ``delete_thread`` and
``prune`` of an unchanged thread: 1 each; ``put_writes``: 0 when it may ride on the next
call's round trip (see ``RedisSaver.put_writes``), else 1; ``list``: 1 per page (+1 to find
the namespaces when the config names none).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint import lua, records
from state.checkpoint.errors import StaleFenceError
from state.checkpoint.layout import ThreadKeys, run_index_key
from state.checkpoint.lists import AppendCache
from state.checkpoint.records import Blobs, decode_record, text, thread_of
from state.checkpoint.wire import Call, Scripts

PAGE_SIZE = 100


@dataclass
class Request:
    """Calls to send in one flight; the plan is sent their replies (``[]`` if not ``wait``)."""

    calls: list[Call]
    wait: bool = True


@dataclass
class Page:
    """Tuples ready for the caller of ``list``; the plan is sent ``None``."""

    tuples: list[CheckpointTuple] = field(default_factory=list)


Plan = Generator[Request, list[Any], Any]
ListPlan = Generator[Request | Page, Any, None]


def fenced_check(thread_id: str, token: int | None) -> Any:
    """A reply check raising ``StaleFenceError`` for the scripts' FENCED reply."""

    def check(reply: Any) -> Any:
        if reply == lua.FENCED:
            raise StaleFenceError(thread_id, token or 0)
        return reply

    return check


def token_arg(token: int | None) -> str:
    """The scripts' fencing-token argument ("" for an unfenced saver)."""
    return "" if token is None else str(token)


@dataclass
class Writer:
    """What a write needs besides its data: scripts, fencing token, TTL, list tails."""

    scripts: Scripts
    token: int | None
    ttl_ms: int
    tails: AppendCache
    indexed: set[tuple[str, str]] = field(default_factory=set)  # (thread, run) in the index


def put_plan(
    w: Writer,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    serde: SerializerProtocol,
) -> Plan:
    """Plan of ``put``: one script; once more with whole values if an appended base is gone."""
    thread_id, ns, _ = thread_of(config)
    keys = ThreadKeys(thread_id)
    cached = {ch: t for ch in new_versions if (t := w.tails.get((thread_id, ns, ch)))}
    for tails in (cached, None):
        put = records.encode_put(config, checkpoint, metadata, new_versions, serde, tails)
        args: list[Any] = [token_arg(w.token), w.ttl_ms, ns, keys.base(ns), put.run_id]
        args += [checkpoint["id"], put.record]
        for fld, blob, base in put.blobs:
            args += [fld, blob, base]
        script_keys = [keys.fence, keys.namespaces, keys.runs, *keys.ns_keys(ns)[:3]]
        calls = [
            Call(w.scripts.evalsha("put", script_keys, args), fenced_check(thread_id, w.token))
        ]
        calls += _index_run(w, thread_id, put.run_id)
        reply = (yield Request(calls))[0]
        if reply != lua.REBASE:
            for channel, tail in put.tails.items():
                w.tails.put((thread_id, ns, channel), tail)
            return put.run_id
    raise RuntimeError("checkpointer: a put of whole values was refused as a rebase")


def _index_run(w: Writer, thread_id: str, run_id: str) -> list[Call]:
    """Add the thread to its run's global index, once per saver (same flight as the put)."""
    if not run_id or (thread_id, run_id) in w.indexed:
        return []
    if len(w.indexed) > 4096:
        w.indexed.clear()
    w.indexed.add((thread_id, run_id))
    calls = [Call(("SADD", run_index_key(run_id), thread_id))]
    if w.ttl_ms:
        calls.append(Call(("PEXPIRE", run_index_key(run_id), w.ttl_ms)))
    return calls


def put_writes_call(
    w: Writer, config: RunnableConfig, entries: Sequence[tuple[bytes, bool]], checkpoint_id: str
) -> Call:
    """The one script of ``put_writes``."""
    thread_id, ns, _ = thread_of(config)
    keys = ThreadKeys(thread_id)
    args: list[Any] = [token_arg(w.token), w.ttl_ms, ns, keys.base(ns), checkpoint_id]
    for entry, overwrite in entries:
        args += [entry, "1" if overwrite else "0"]
    return Call(
        w.scripts.evalsha(
            "put_writes", [keys.fence, keys.namespaces, keys.runs, keys.writes(ns)], args
        ),
        fenced_check(thread_id, w.token),
    )


def get_tuple_plan(
    scripts: Scripts, config: RunnableConfig, serde: SerializerProtocol, refresh_ms: int = 0
) -> Plan:
    """Plan of ``get_tuple``: the named checkpoint, or the latest of the namespace."""
    thread_id, ns, checkpoint_id = thread_of(config)
    keys = ThreadKeys(thread_id)
    args = [checkpoint_id or "", refresh_ms]
    (reply,) = yield Request(
        [Call(scripts.evalsha("get", [keys.namespaces, keys.runs, *keys.ns_keys(ns)], args))]
    )
    if not reply:
        return None
    cid, raw, writes, pieces = reply
    stored = decode_record(text(cid), raw, serde)
    return records.assemble(thread_id, ns, stored, Blobs(pieces, serde), writes, serde)


def _namespaces_plan(
    keys: ThreadKeys, config: RunnableConfig
) -> Generator[Request, list[Any], list[str]]:
    """The namespaces to list: the config's, else every one of the thread (one round trip)."""
    ns_given = config["configurable"].get("checkpoint_ns")
    if ns_given is not None:
        return [str(ns_given)]
    (names,) = yield Request([Call(("HKEYS", keys.namespaces))])
    return sorted(text(n) for n in names)


def list_plan(
    scripts: Scripts,
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
    namespaces = yield from _namespaces_plan(keys, config)
    before_id = get_checkpoint_id(before) if before else None
    remaining = limit
    for ns in namespaces:
        cursor = f"({before_id}" if before_id else "+"
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None or filter else min(remaining, PAGE_SIZE)
            only = only_id if only_id and (not before_id or only_id < before_id) else ""
            if only_id and not only:
                break
            args = [cursor, size, only]
            (reply,) = yield Request(
                [Call(scripts.evalsha("list", keys.ns_keys(ns), args))]
            )  # fmt: skip
            read, rows, pieces = reply
            blobs = Blobs(pieces, serde)
            found = [(decode_record(text(r[0]), r[1], serde), r[2]) for r in rows]
            found = [(s, w) for s, w in found if records.matches(s.metadata, filter)]
            if remaining is not None:
                found = found[:remaining]
                remaining -= len(found)
            yield Page([records.assemble(thread_id, ns, s, blobs, w, serde) for s, w in found])
            if only_id or read < size:
                break
            cursor = f"({text(rows[-1][0])}" if rows else cursor
            if not rows:
                break


def history_plan(
    scripts: Scripts, config: RunnableConfig, channels: Sequence[str], serde: SerializerProtocol
) -> Plan:
    """Plan of ``get_delta_channel_history``: the ancestor walk in one script."""
    thread_id, ns, checkpoint_id = thread_of(config)
    keys = ThreadKeys(thread_id)
    (reply,) = yield Request(
        [Call(scripts.evalsha("history", keys.ns_keys(ns), [checkpoint_id or "", *channels]))]
    )
    result: dict[str, DeltaChannelHistory] = {ch: {"writes": []} for ch in channels}
    if not reply:
        return result
    visited, seeds, pieces = reply
    blobs = Blobs(pieces, serde)
    # a seeded channel takes the writes of the ancestors down to (and with) its seed's
    depth = {text(seeds[i]): int(seeds[i + 2]) for i in range(0, len(seeds), 3)}
    for i in range(0, len(seeds), 3):
        present, value = blobs.value(seeds[i + 1])
        if present:
            result[text(seeds[i])]["seed"] = value
    for position in range(len(visited), 0, -1):  # oldest ancestor first
        for task_id, channel, value in records.decode_writes(visited[position - 1][1], serde):
            if channel in result and position <= depth.get(channel, len(visited)):
                result[channel]["writes"].append((task_id, channel, value))
    return result

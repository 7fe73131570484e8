"""Plans of the maintenance operations: delete, delete runs, copy, prune, expire, size.

Each script touches one thread; the global ``wb:ckrun:<run>`` index (see ``layout``) is
updated by plain commands next to the scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from state.checkpoint import codec, lua
from state.checkpoint.errors import StaleFenceError
from state.checkpoint.layout import ThreadKeys, run_index_key
from state.checkpoint.plans import Plan, Request, Writer, fenced_check, token_arg
from state.checkpoint.records import text
from state.checkpoint.wire import Call

# a prune retries when a checkpoint lands between its read and its script
PRUNE_ATTEMPTS = 5


def _thread_call(w: Writer, name: str, thread_id: str, args: Sequence[Any]) -> Call:
    keys = ThreadKeys(thread_id)
    return Call(
        w.scripts.evalsha(name, [keys.fence, keys.namespaces, keys.runs], args),
        fenced_check(thread_id, w.token),
    )


def _unindex(thread_id: str, run_ids: Sequence[Any]) -> list[Call]:
    return [Call(("SREM", run_index_key(text(r)), thread_id)) for r in run_ids]


def delete_thread_plan(w: Writer, thread_id: str) -> Plan:
    """Plan of ``delete_thread``: one script, then the thread leaves the run index."""
    (reply,) = yield Request([_thread_call(w, "delete_thread", thread_id, [token_arg(w.token)])])
    w.tails.forget(thread_id)
    if unindex := _unindex(thread_id, reply[0]):
        yield Request(unindex)


def delete_runs_plan(w: Writer, run_ids: Sequence[str]) -> Plan:
    """Plan of ``delete_for_runs``: find the runs' threads, one script per thread (all in
    one flight), then drop the runs from the index."""
    if not run_ids:
        return
    members = yield Request([Call(("SMEMBERS", run_index_key(r))) for r in run_ids])
    threads = sorted({text(t) for found in members for t in found})
    args = [token_arg(w.token), *run_ids]
    if threads:
        yield Request([_thread_call(w, "delete_runs", t, args) for t in threads])
    for thread_id in threads:
        w.tails.forget(thread_id)
    # one DEL per key: on a Redis Cluster the runs' index keys live in different slots
    yield Request([Call(("DEL", run_index_key(r))) for r in run_ids])


def expire_plan(w: Writer, thread_id: str, ttl_ms: int) -> Plan:
    """Plan of ``expire_thread``: returns whether the thread had any key to expire."""
    call = _thread_call(w, "expire", thread_id, [token_arg(w.token), ttl_ms])
    call.check = _expire_check(thread_id, w.token)
    (reply,) = yield Request([call])
    return int(reply) > 0


def _expire_check(thread_id: str, token: int | None) -> Any:
    def check(reply: Any) -> Any:
        if reply == -3:  # the expire script's FENCED (0 means "no keys" there)
            raise StaleFenceError(thread_id, token or 0)
        return reply

    return check


def copy_plan(w: Writer, source: str, target: str) -> Plan:
    """Plan of ``copy_thread``: one script reads the source, one writes the target.

    The two threads have different hash tags (possibly different Cluster nodes), so the
    copy cannot be one script; the target side is written atomically in one call. Stored
    records do not contain the thread id, so they are copied byte for byte; the target keeps
    any checkpoints it already had.
    """
    src, dst = ThreadKeys(source), ThreadKeys(target)
    (exported,) = yield Request([Call(w.scripts.evalsha("export", [src.namespaces, src.runs], []))])
    runs, namespaces = exported[0], exported[1:]
    args: list[Any] = [token_arg(w.token), w.ttl_ms]
    for run_id in runs:
        args += ["u", run_id]
    for name, recs, blobs, writes in namespaces:
        base = dst.base(text(name))
        args += ["n", name, base]
        for i in range(0, len(blobs), 2):
            args += ["b", base, blobs[i], blobs[i + 1]]
        for i in range(0, len(recs), 2):
            args += ["r", base, recs[i], recs[i + 1]]
        for i in range(0, len(writes), 2):
            args += ["w", base, writes[i], writes[i + 1]]
    if not namespaces:
        return
    calls = [_thread_call(w, "import", target, args)]
    calls += [Call(("SADD", run_index_key(text(r)), target)) for r in runs]
    yield Request(calls)


def prune_plan(w: Writer, thread_id: str, serde: SerializerProtocol) -> Plan:
    """Plan of ``prune(keep_latest)`` for one thread.

    The latest checkpoint of each namespace is read to learn which ``DeltaChannel``s rebuild
    their value from ancestors there (their update counters since the last snapshot are in its
    metadata); the script keeps those ancestors too, after checking nothing newer arrived.

    Raises:
        RuntimeError: The thread kept changing while being pruned.
    """
    keys = ThreadKeys(thread_id)
    for _attempt in range(PRUNE_ATTEMPTS):
        (found,) = yield Request([Call(w.scripts.evalsha("latest", [keys.namespaces], []))])
        args: list[Any] = [token_arg(w.token)]
        for i in range(0, len(found), 3):
            name, cid, raw = found[i], found[i + 1], found[i + 2]
            need = _delta_channels(raw, serde) if raw else []
            args += [name, text(cid) if cid else "", len(need), *need]
        if len(args) == 1:
            return
        (outcome,) = yield Request([_thread_call(w, "prune", thread_id, args)])
        w.tails.forget(thread_id)
        if outcome != lua.STALE:
            return
    raise RuntimeError(f"thread {thread_id!r} kept changing while being pruned")


def _delta_channels(raw: bytes, serde: SerializerProtocol) -> list[str]:
    header, _, md_typed = codec.decode_record(raw)
    counters = serde.loads_typed(md_typed).get("counters_since_delta_snapshot") or {}
    stored = {ch for ch, (_, has) in header.refs.items() if has}
    return sorted(ch for ch in counters if ch in header.refs and ch not in stored)


def storage_keys_plan(w: Writer, thread_id: str) -> Plan:
    """Plan listing every key that holds checkpoint data of a thread (for size accounting)."""
    keys = ThreadKeys(thread_id)
    (found,) = yield Request(
        [Call(w.scripts.evalsha("storage_keys", [keys.namespaces, keys.runs], []))]
    )
    return [text(k) for k in found]

"""Sorted-set indexes of the run registry, so listing 10,000 runs costs one page of reads.

Every index is scored by creation time (epoch seconds), so ``ZREVRANGE`` gives newest first
(equal scores: run id descending). One index per filter combination keeps every listing a
single ``ZREVRANGE`` plus ``ZCARD`` for the total:

- ``wb:idx:runs`` (all runs), ``wb:idx:runs:status:<s>``,
- ``wb:idx:runs:workflow:<w>``, ``wb:idx:runs:workflow:<w>:status:<s>``,
- ``wb:idx:workflows``: the set of workflow names.

Two more: ``wb:idx:expiry`` holds finished runs scored by when their retention ends (see
``retention``), and ``wb:idx:watch`` holds every ``queued`` or ``running`` run scored by when
a sweeper should look at it next (a queued run's grace period, a running run's lease
deadline, pushed on as the lease is renewed): a sweep reads only the entries that fell due,
however many runs wait or run (see ``graph.runtime.sweeper``).

These are global keys, so they are written in plain pipelines (or after the per-run script
that changed the run), never inside a per-run script (a script may only touch one run's slot).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from state.control.models import RunRecord
from state.keys import global_key, run_key
from state.status import RUN_STATUSES, TERMINAL_STATUSES

WORKFLOWS_KEY = global_key("idx", "workflows")
WATCH_KEY = global_key("idx", "watch")
PENDING_ESCALATIONS = global_key("idx", "escalations", "pending")
"""Undecided escalations by creation time (kept by ``escalations``; a run that ends leaves)."""
RUN_OF_ESCALATION = global_key("idx", "escalations", "run")
"""Escalation id -> run id (kept by ``escalations``)."""
EXPIRY_KEY = global_key("idx", "expiry")
QUEUED_GRACE_S = 15.0
"""A run ``queued`` this long with no job waiting for it lost its job: look at it then."""
WATCHED = ("queued", "running")
GONE_AFTER_S = 60.0
"""An index entry this old whose run has no record lost it (a node restarted without its last
writes): listings drop it. A younger one may be a submission whose record follows its entries."""

Command = tuple[Any, ...]


def index_key(workflow: str | None = None, status: str | None = None) -> str:
    """The index for a filter: none, status, workflow, or both."""
    parts = ["idx", "runs"]
    if workflow is not None:
        parts += ["workflow", workflow]
    if status is not None:
        parts += ["status", status]
    return global_key(*parts)


def watch(run_id: str, at: float) -> Command:
    """Look at ``run_id`` again at epoch time ``at`` (unless it leaves the watch first)."""
    return ("ZADD", WATCH_KEY, repr(at), run_id)


def expiry_member(run_id: str, workflow: str) -> str:
    """A run's entry in ``wb:idx:expiry`` (its workflow too: the listings are per workflow)."""
    return json.dumps([run_id, workflow])


def expire_at(run_id: str, workflow: str, at: float) -> Command:
    """Purge the finished run ``run_id`` at epoch time ``at``."""
    return ("ZADD", EXPIRY_KEY, repr(at), expiry_member(run_id, workflow))


def stores_key(run_id: str) -> str:
    """The set of a run's other hashes (its sources' state), so that a purge finds them."""
    return run_key(run_id, "stores")


def _watch_for(run_id: str, status: str) -> Command:
    if status in WATCHED:
        return watch(run_id, time.time() + QUEUED_GRACE_S)
    return ("ZREM", WATCH_KEY, run_id)


def adding(run_id: str, workflow: str, status: str, score: float) -> list[Command]:
    """The index writes for a run (idempotent)."""
    out: list[Command] = [
        ("ZADD", key, repr(score), run_id)
        for key in (
            index_key(),
            index_key(status=status),
            index_key(workflow=workflow),
            index_key(workflow=workflow, status=status),
        )
    ]
    return [*out, ("SADD", WORKFLOWS_KEY, workflow), _watch_for(run_id, status)]


def moving(run_id: str, workflow: str, old: str, new: str, score: float) -> list[Command]:
    """The writes that move a run from status ``old`` to ``new``."""
    return [
        ("ZREM", index_key(status=old), run_id),
        ("ZREM", index_key(workflow=workflow, status=old), run_id),
        ("ZADD", index_key(status=new), repr(score), run_id),
        ("ZADD", index_key(workflow=workflow, status=new), repr(score), run_id),
        _watch_for(run_id, new),
    ]


def repairing(run_id: str, workflow: str, status: str, score: float) -> list[Command]:
    """The writes that make a run's entries agree with its current status."""
    out: list[Command] = []
    for other in RUN_STATUSES:
        if other != status:
            out.append(("ZREM", index_key(status=other), run_id))
            out.append(("ZREM", index_key(workflow=workflow, status=other), run_id))
    return out + adding(run_id, workflow, status, score)


def removing(run_id: str, workflow: str) -> list[Command]:
    """The writes that take a run out of every index (it expired or was pruned)."""
    out: list[Command] = [
        ("ZREM", index_key(), run_id),
        ("ZREM", index_key(workflow=workflow), run_id),
    ]
    for status in RUN_STATUSES:
        out.append(("ZREM", index_key(status=status), run_id))
        out.append(("ZREM", index_key(workflow=workflow, status=status), run_id))
    return [*out, ("ZREM", WATCH_KEY, run_id)]


def apply(pipe: Any, commands: Iterable[Command]) -> None:
    """Queue ``commands`` on a redis-py pipeline."""
    for command in commands:
        pipe.execute_command(*command)


def add(pipe: Any, run_id: str, workflow: str, status: str, score: float) -> None:
    """Queue the index writes for a run (idempotent)."""
    apply(pipe, adding(run_id, workflow, status, score))


def move(pipe: Any, run_id: str, workflow: str, old: str, new: str, score: float) -> None:
    """Queue the writes that move a run from status ``old`` to ``new``."""
    apply(pipe, moving(run_id, workflow, old, new, score))


def repair(pipe: Any, run_id: str, workflow: str, status: str, score: float) -> None:
    """Queue the writes that make a run's entries agree with its current status."""
    apply(pipe, repairing(run_id, workflow, status, score))


def sift(
    listed: list[tuple[str, float]],
    records: list[RunRecord],
    *,
    status: str | None,
    workflow: str | None,
    unread: set[str],
    now: float,
) -> tuple[list[RunRecord], int, list[Command]]:
    """What a listing shows of one page of an index, how many entries it left out, and the
    writes that drop the stale ones.

    Index writes follow the run's own (on a Redis Cluster they are on other nodes), so after an
    outage an entry may lag: a run that ended is still listed ``queued``, or a run whose record
    was lost is listed at all. Such entries are left out; those that can never be right again
    (a finished run under another status, a run with no record for ``GONE_AFTER_S``) are
    dropped. A run between two statuses is left out only: its move, or a sweeper, settles it.
    ``unread``: runs whose records are damaged (named by the listing, not dropped).
    """
    found = {r.run_id: r for r in records}
    kept: list[RunRecord] = []
    fixes: list[Command] = []
    left_out = 0
    for run_id, score in listed:
        record = found.get(run_id)
        if record is None:
            if run_id in unread:
                continue
            left_out += 1
            if now - score >= GONE_AFTER_S:
                keys = [index_key(), *(index_key(status=s) for s in RUN_STATUSES)]
                if workflow is not None:
                    keys += [index_key(workflow=workflow), index_key(workflow, status)]
                fixes += [("ZREM", key, run_id) for key in keys]
            continue
        if status is not None and record.status != status:
            left_out += 1
            if record.status in TERMINAL_STATUSES:
                fixes += [("ZREM", index_key(status=status), run_id),
                          ("ZREM", index_key(record.workflow, status), run_id)]  # fmt: skip
            continue
        kept.append(record)
    return kept, left_out, fixes

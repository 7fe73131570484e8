"""Sorted-set indexes of the run registry, so listing 10,000 runs costs one page of reads.

Every index is scored by creation time (epoch seconds), so ``ZREVRANGE`` gives newest first
(equal scores: run id descending). One index per filter combination keeps every listing a
single ``ZREVRANGE`` plus ``ZCARD`` for the total:

- ``wb:idx:runs`` (all runs), ``wb:idx:runs:status:<s>``,
- ``wb:idx:runs:workflow:<w>``, ``wb:idx:runs:workflow:<w>:status:<s>``,
- ``wb:idx:workflows``: the set of workflow names.

These are global keys, so they are written in plain pipelines after the per-run script that
changed the run, never inside it (a script may only touch one run's slot).
"""

from __future__ import annotations

from redis.client import Pipeline

from state.keys import global_key
from state.status import RUN_STATUSES

WORKFLOWS_KEY = global_key("idx", "workflows")


def index_key(workflow: str | None = None, status: str | None = None) -> str:
    """The index for a filter: none, status, workflow, or both."""
    parts = ["idx", "runs"]
    if workflow is not None:
        parts += ["workflow", workflow]
    if status is not None:
        parts += ["status", status]
    return global_key(*parts)


def add(pipe: Pipeline, run_id: str, workflow: str, status: str, score: float) -> None:
    """Queue the index writes for a run (idempotent)."""
    for key in (
        index_key(),
        index_key(status=status),
        index_key(workflow=workflow),
        index_key(workflow=workflow, status=status),
    ):
        pipe.zadd(key, {run_id: score})
    pipe.sadd(WORKFLOWS_KEY, workflow)


def move(pipe: Pipeline, run_id: str, workflow: str, old: str, new: str, score: float) -> None:
    """Queue the writes that move a run from status ``old`` to ``new``."""
    pipe.zrem(index_key(status=old), run_id)
    pipe.zrem(index_key(workflow=workflow, status=old), run_id)
    pipe.zadd(index_key(status=new), {run_id: score})
    pipe.zadd(index_key(workflow=workflow, status=new), {run_id: score})


def repair(pipe: Pipeline, run_id: str, workflow: str, status: str, score: float) -> None:
    """Queue the writes that make a run's entries agree with its current status."""
    for other in RUN_STATUSES:
        if other != status:
            pipe.zrem(index_key(status=other), run_id)
            pipe.zrem(index_key(workflow=workflow, status=other), run_id)
    add(pipe, run_id, workflow, status, score)

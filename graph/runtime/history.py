"""A run's checkpoint history: list checkpoints, read the state at one, diff two.

Reads go through the compiled graph (``get_state_history``) so what is shown is exactly what
LangGraph would resume from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from langchain_core.runnables import RunnableConfig

from graph.chain import Chain
from graph.runtime.runner import Compiled, compile_chain
from state.checkpoint import CheckpointerError, DamagedCheckpointError, RedisSaver


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint of a run, newest first in :func:`checkpoints`."""

    checkpoint_id: str
    step: int
    created_at: datetime | None
    next: tuple[str, ...]
    """Nodes that run next from here (empty at the end)."""
    interrupted: bool


@dataclass(frozen=True)
class Change:
    """One difference between two states: ``path`` is dotted (list items by index)."""

    path: str
    before: Any
    after: Any


def _graph(raw: redis.Redis, chain: Chain) -> Compiled:
    return compile_chain(chain, RedisSaver(raw))


def _config(run_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": run_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


@contextlib.contextmanager
def reading(run_id: str) -> Iterator[None]:
    """Report a run's unreadable checkpoints as one ``DamagedCheckpointError`` naming the run.

    Redis's own refusal (a key of the wrong type) counts as damage too.
    """
    try:
        yield
    except (CheckpointerError, redis.ResponseError) as exc:
        detail = str(exc).rpartition("caused error: ")[2]  # drop a pipeline's command echo
        raise DamagedCheckpointError(
            f"the checkpoints of run {run_id} cannot be read ({detail})"
        ) from None


def checkpoints(
    raw: redis.Redis, chain: Chain, run_id: str, *, limit: int = 200
) -> list[CheckpointInfo]:
    """The run's checkpoints, newest first (``raw``: a client with bytes replies).

    Raises:
        DamagedCheckpointError: A checkpoint of the run cannot be read.
    """
    with reading(run_id):
        return _checkpoints(raw, chain, run_id, limit)


def _checkpoints(raw: redis.Redis, chain: Chain, run_id: str, limit: int) -> list[CheckpointInfo]:
    out = []
    for snap in _graph(raw, chain).get_state_history(_config(run_id), limit=limit):
        meta = snap.metadata or {}
        created = datetime.fromisoformat(snap.created_at) if snap.created_at else None
        out.append(
            CheckpointInfo(
                checkpoint_id=str(snap.config["configurable"]["checkpoint_id"]),
                step=int(meta.get("step", -1)),
                created_at=created,
                next=tuple(snap.next),
                interrupted=bool(snap.interrupts),
            )
        )
    return out


def state_at(raw: redis.Redis, chain: Chain, run_id: str, checkpoint_id: str) -> dict[str, Any]:
    """The run state as it was at ``checkpoint_id`` (``DamagedCheckpointError`` if unreadable)."""
    with reading(run_id):
        values: dict[str, Any] = dict(
            _graph(raw, chain).get_state(_config(run_id, checkpoint_id)).values
        )
    return values


def diff_states(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every leaf that differs between two JSON-like values (added/removed shown as None)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            changes += diff_states(before.get(key), after.get(key), sub)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for i in range(max(len(before), len(after))):
            a = before[i] if i < len(before) else None
            b = after[i] if i < len(after) else None
            changes += diff_states(a, b, f"{path}[{i}]")
        return changes
    return [] if before == after else [Change(path or "<root>", before, after)]

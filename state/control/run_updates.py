"""A run's update as the registry's script takes it, and its reply: shared by
``RunRegistry.update`` and the executor's calls on the checkpointer's wire (``run_wire``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from state.clock import utcnow
from state.control import run_index
from state.control.connection import text, texts
from state.control.errors import InvalidTransition, LeaseLost, RunFinished, UnknownRun
from state.control.events import events_key
from state.control.models import RunRecord, to_epoch
from state.control.run_records import record_of
from state.keys import fence_key, run_key
from state.status import RUN_STATUSES, TERMINAL_STATUSES, TRANSITIONS, RunStatus

_FIELDS = ("stage", "worker", "reason")


def run_hash_key(run_id: str) -> str:
    """The hash holding a run's record (read by the escalation script for the status)."""
    return run_key(run_id, "run")


@dataclass(frozen=True)
class Update:
    """One change of a run's record: the script's keys and arguments."""

    run_id: str
    status: RunStatus | None
    fence: int | None
    keys: list[str]
    args: list[str]


def update_of(
    run_id: str,
    *,
    status: RunStatus | None = None,
    stage: str | None = None,
    worker: str | None = None,
    reason: str | None = None,
    fence: int | None = None,
    maxlen: str = "0",
) -> Update:
    """The ``UPDATE_RUN`` script's keys and arguments for a change (``None``: unchanged)."""
    allowed_from = [s for s in RUN_STATUSES if status is not None and status in TRANSITIONS[s]]
    args = [
        "" if fence is None else str(fence),
        status or "",
        " ".join(allowed_from),
        " ".join(sorted(TERMINAL_STATUSES)),
        repr(to_epoch(utcnow())),
        maxlen,
    ]
    for name, value in zip(_FIELDS, (stage, worker, reason), strict=True):
        if value is not None:
            args += [name, value]
    keys = [run_hash_key(run_id), fence_key(run_id), events_key(run_id), run_key(run_id, "escs")]
    return Update(run_id, status, fence, keys, args)


@dataclass(frozen=True)
class Updated:
    """A run's record after an update, the status it had, and the escalations it had when
    the update ended it."""

    old: str
    record: RunRecord
    escalations: list[str]


def outcome_of(update: Update, reply: Any) -> Updated:
    """The status before the change and the record as written.

    Raises:
        UnknownRun: No run with this id.
        RunFinished: The run's status is terminal; nothing about it changes any more.
        InvalidTransition: ``TRANSITIONS`` does not allow the status change.
        LeaseLost: ``fence`` is not the current token.
    """
    outcome, *rest = reply
    outcome = text(outcome)
    run_id = update.run_id
    if outcome == "unknown":
        raise UnknownRun(run_id)
    if outcome == "fenced":
        current = text(rest[0])
        raise LeaseLost(run_id, update.fence or 0, int(current) if current else None)
    if outcome == "finished":
        raise RunFinished(run_id, text(rest[0]))
    if outcome == "transition":
        raise InvalidTransition(
            f"run {run_id!r}: status {text(rest[0])} cannot become {update.status}"
        )
    flat = texts(rest[1])
    record = record_of(dict(zip(flat[::2], flat[1::2], strict=True)))
    return Updated(text(rest[0]), record, texts(rest[2]) if len(rest) > 2 else [])


def moved(updated: Updated, retention_s: float) -> list[run_index.Command]:
    """The index writes after an update changed a run's status: its listings, its watch and,
    once it finished, its pending escalations (they leave) and when its retention ends."""
    record = updated.record
    score = record.created_at.timestamp()
    if record.status in TERMINAL_STATUSES:
        # Its last move: out of every other listing, also those an ``expect`` (a decision, a
        # resume) added for a move that went another way, so no finished run is listed as
        # queued or waiting (once per run: a finished run never moves again).
        out = run_index.repairing(record.run_id, record.workflow, record.status, score)
    else:
        out = run_index.moving(record.run_id, record.workflow, updated.old, record.status, score)
    if updated.escalations:
        out.append(("ZREM", run_index.PENDING_ESCALATIONS, *updated.escalations))
    if record.status in TERMINAL_STATUSES and retention_s > 0:
        out.append(run_index.expire_at(record.run_id, record.workflow, time.time() + retention_s))
    return out

"""Run records as the registry stores them: the new run's hash fields, a record from them, and
the error a refused update script names."""

from __future__ import annotations

from typing import Any

from state.clock import utcnow
from state.control.connection import text
from state.control.errors import InvalidTransition, LeaseLost, RunFinished, UnknownRun
from state.control.models import NewRun, RunRecord, from_epoch, to_epoch


def new_mapping(spec: NewRun) -> dict[str, str]:
    """The hash fields of a new ``queued`` run."""
    ts = repr(to_epoch(spec.created_at or utcnow()))
    mapping = {
        "run_id": spec.run_id,
        "workflow": spec.workflow,
        "status": "queued",
        "input_summary": spec.input_summary,
        "created_at": ts,
        "updated_at": ts,
    }
    if spec.user:
        mapping["user"] = spec.user
    return mapping


def record_of(fields: dict[str, str]) -> RunRecord:
    """A run record from its hash fields."""
    return RunRecord(
        run_id=fields["run_id"],
        workflow=fields["workflow"],
        status=fields["status"],
        input_summary=fields.get("input_summary", ""),
        stage=fields.get("stage") or None,
        worker=fields.get("worker") or None,
        reason=fields.get("reason") or None,
        user=fields.get("user") or None,
        created_at=from_epoch(fields["created_at"]),
        updated_at=from_epoch(fields["updated_at"]),
    )


def raise_refusal(
    run_id: str, outcome: str, rest: list[Any], *, fence: int | None, status: str | None
) -> None:
    """Raise the error for the update script's ``outcome``; return when the write happened."""
    if outcome == "unknown":
        raise UnknownRun(run_id)
    if outcome == "fenced":
        current = text(rest[0])
        raise LeaseLost(run_id, fence or 0, int(current) if current else None)
    if outcome == "finished":
        raise RunFinished(run_id, text(rest[0]))
    if outcome == "transition":
        raise InvalidTransition(f"run {run_id!r}: status {text(rest[0])} cannot become {status}")

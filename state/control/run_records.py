"""Run records as the registry stores them: the new run's hash fields, and a record from them."""

from __future__ import annotations

from state.clock import utcnow
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

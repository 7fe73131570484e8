"""Run records as the registry stores them: the new run's hash fields, and a record from them.

A record that cannot be read (a field missing or invalid, or its key of another type) raises
``DamagedRun`` naming the run and what is wrong, so a listing can skip that one run and say so.
"""

from __future__ import annotations

from datetime import datetime

import redis
from pydantic import ValidationError

from state.clock import utcnow
from state.control.connection import text
from state.control.errors import DamagedRun
from state.control.models import DamagedRecord, NewRun, RunRecord, from_epoch, to_epoch
from state.keys import run_key


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


def _field(run_id: str, fields: dict[str, str], name: str) -> str:
    if name not in fields:
        raise DamagedRun(run_id, f"field {name} is missing")
    return fields[name]


def _time(run_id: str, fields: dict[str, str], name: str) -> datetime:
    value = _field(run_id, fields, name)
    try:
        return from_epoch(value)
    except (ValueError, OverflowError, OSError):
        raise DamagedRun(run_id, f"{name} {value[:40]!r} is not a time") from None


def _invalid(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "a field"
    shown = repr(first.get("input"))[:40]
    return f"{where} {shown} is invalid: {first['msg']}"


def record_of(fields: dict[str, str], run_id: str | None = None) -> RunRecord:
    """A run record from its hash fields (``run_id``: the run they were read for).

    Raises:
        DamagedRun: A field is missing or invalid.
    """
    rid = run_id or fields.get("run_id") or "?"
    try:
        return RunRecord(
            run_id=_field(rid, fields, "run_id"),
            workflow=_field(rid, fields, "workflow"),
            status=_field(rid, fields, "status"),
            input_summary=fields.get("input_summary", ""),
            stage=fields.get("stage") or None,
            worker=fields.get("worker") or None,
            reason=fields.get("reason") or None,
            user=fields.get("user") or None,
            created_at=_time(rid, fields, "created_at"),
            updated_at=_time(rid, fields, "updated_at"),
        )
    except ValidationError as exc:
        raise DamagedRun(rid, _invalid(exc)) from None


def read_record(run_id: str, reply: object) -> RunRecord | None:
    """The record from the ``HGETALL`` of ``run_id``'s hash (``None``: no such run).

    ``reply`` may be the error a pipeline returned in its place: a key of another type is a
    damaged record; any other error is raised.

    Raises:
        DamagedRun: The record cannot be read.
    """
    if isinstance(reply, redis.ResponseError):
        if str(reply).startswith("WRONGTYPE"):
            raise DamagedRun(run_id, f"{run_key(run_id, 'run')} is not a hash")
        raise reply
    if not isinstance(reply, dict) or not reply:
        return None
    return record_of({text(k): text(v) for k, v in reply.items()}, run_id)


def read_records(
    run_ids: list[str], replies: list[object]
) -> tuple[list[RunRecord], list[DamagedRecord]]:
    """The records of the runs whose ``HGETALL`` replies are ``replies`` (runs gone since they
    were indexed are left out), and the runs whose records cannot be read."""
    records: list[RunRecord] = []
    damaged: list[DamagedRecord] = []
    for run_id, reply in zip(run_ids, replies, strict=True):
        try:
            record = read_record(run_id, reply)
        except DamagedRun as exc:
            damaged.append(DamagedRecord(run_id=run_id, problem=exc.problem))
            continue
        if record is not None:
            records.append(record)
    return records, damaged

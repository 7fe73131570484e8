"""Pydantic records of the control plane, as the console and workers see them.

Timestamps are timezone-aware UTC ``datetime`` values; in Redis they are stored as epoch
seconds so they can be sorted-set scores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from state.decisions import DecisionAction
from state.status import RunStatus

EscalationAction = DecisionAction
"""What a decision on an escalation does (the graph's ``DecisionAction``)."""
KillScope = Literal["global", "workflow", "agent", "run"]
KILL_SCOPES: tuple[KillScope, ...] = get_args(KillScope)


def to_epoch(ts: datetime) -> float:
    """Epoch seconds of an aware datetime (naive values are taken as UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def from_epoch(value: str | float) -> datetime:
    """An aware UTC datetime from epoch seconds (as stored in Redis)."""
    return datetime.fromtimestamp(float(value), UTC)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunRecord(_Record):
    """One run in the registry (the hash ``wb:{<run>}:run``)."""

    run_id: str
    workflow: str
    status: RunStatus
    input_summary: str = ""
    stage: str | None = None
    worker: str | None = None
    reason: str | None = None
    user: str | None = None
    created_at: datetime
    updated_at: datetime


class NewRun(_Record):
    """What ``RunRegistry.create_many`` needs to register one run."""

    run_id: str
    workflow: str
    input_summary: str = ""
    user: str | None = None
    created_at: datetime | None = None


class RunPage(_Record):
    """One page of a run listing, newest first, with the total matching the filters."""

    items: list[RunRecord]
    total: int
    offset: int
    limit: int


class RunEvent(_Record):
    """One entry of a run's event stream; ``id`` is the stream id to resume reading after."""

    id: str
    kind: str
    stage: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    ts: datetime


class Decision(_Record):
    """A human's decision on an escalation."""

    action: EscalationAction
    user: str
    comment: str = ""
    edited: dict[str, Any] | None = None
    decided_at: datetime


class Escalation(_Record):
    """A request for a human decision (an ``interrupt()`` of a run); ``version`` counts writes."""

    escalation_id: str
    run_id: str
    kind: str
    stage: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    version: int = 1
    decision: Decision | None = None

    @property
    def pending(self) -> bool:
        """True while nobody has decided."""
        return self.decision is None


class KillSwitch(_Record):
    """A tripped kill switch; ``target`` is ``"*"`` for the global scope."""

    scope: KillScope
    target: str
    reason: str
    user: str
    tripped_at: datetime


class KillNudge(_Record):
    """A pub/sub message announcing a switch was tripped or cleared (the durable key is truth)."""

    event: Literal["tripped", "cleared"]
    scope: KillScope
    target: str


class AuditEntry(_Record):
    """One link of the audit hash chain."""

    seq: int
    ts: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


class AuditVerification(_Record):
    """Result of ``AuditLog.verify()``: ``first_bad_seq`` is the first link that fails."""

    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None = None
    problem: str | None = None


class Lease(_Record):
    """The current lease of a run."""

    run_id: str
    holder: str
    token: int
    ttl_ms: int

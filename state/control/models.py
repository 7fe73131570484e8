"""Pydantic records of the control plane, as the console and workers see them.

Timestamps are timezone-aware UTC ``datetime`` values; in Redis they are stored as epoch
seconds so they can be sorted-set scores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from state.decisions import DeadlineOutcome, DecisionAction, DecisionDeadline
from state.status import RunStatus

EscalationAction = DecisionAction
"""What a decision on an escalation does (the graph's ``DecisionAction``)."""
KillScope = Literal["global", "workflow", "agent", "run"]
KILL_SCOPES: tuple[KillScope, ...] = get_args(KillScope)
SwitchKind = Literal["kill", "hold"]
"""A kill switch ends the runs it covers; a hold switch parks them (``held``) until released."""


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


class DamagedRecord(_Record):
    """A run a listing skipped because its record cannot be read (``errors.DamagedRun``)."""

    run_id: str
    problem: str
    """What is wrong with it, e.g. ``status 'bogus' is not a run status``."""

    def __str__(self) -> str:
        return f"run {self.run_id}: record is damaged ({self.problem}), skipped"


class RunPage(_Record):
    """One page of a run listing, newest first, with the total matching the filters."""

    items: list[RunRecord]
    total: int
    offset: int
    limit: int
    damaged: list[DamagedRecord] = Field(default_factory=list)
    """Runs of the page left out of ``items``: their records cannot be read."""


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


class Approval(_Record):
    """One approval of an escalation that needs several (M of N)."""

    user: str
    at: datetime
    comment: str = ""


class EscalationTerms(_Record):
    """Who decides an escalation and by when: set when it is created."""

    group: str | None = None
    """The approver group that decides (``None``: any approver)."""
    approvals_needed: int = Field(default=1, ge=1)
    four_eyes: bool = False
    """The run's starter may not approve."""
    deadline: DecisionDeadline | None = None


class EscalationDeadline(_Record):
    """The current deadline of an escalation; ``round`` 2 is the backup group's, after a
    handover."""

    due_at: datetime
    remind_at: datetime | None = None
    then: DeadlineOutcome
    policy: DecisionDeadline
    round: int = 1


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
    group: str | None = None
    approvals_needed: int = 1
    four_eyes: bool = False
    approvals: list[Approval] = Field(default_factory=list)
    """Approvals so far, oldest first (only kept when more than one is needed)."""
    deadline: EscalationDeadline | None = None
    held_at: datetime | None = None
    """Its deadline passed and its default is to hold: the run keeps waiting, unreminded."""
    held_reason: str = ""
    handed_over_from: str | None = None
    """The group that had it before its deadline handed it to ``group``."""
    reminded_round: int = 0

    @property
    def authors(self) -> list[str]:
        """People whose edits the action asked about carries: under four eyes, like the run's
        starter, they may not approve it."""
        return [str(name) for name in self.request.get("authors", [])]

    @property
    def pending(self) -> bool:
        """True while nobody has decided."""
        return self.decision is None


class KillSwitch(_Record):
    """A tripped kill or hold switch; ``target`` is ``"*"`` for the global scope."""

    kind: SwitchKind = "kill"
    scope: KillScope
    target: str
    reason: str
    user: str
    tripped_at: datetime


class KillNudge(_Record):
    """A pub/sub message announcing a switch was tripped or cleared (the durable key is truth)."""

    event: Literal["tripped", "cleared"]
    kind: SwitchKind = "kill"
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

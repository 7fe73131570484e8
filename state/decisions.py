"""Decision records of agents, escalation requests to humans, and humans' decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from state.clock import utcnow
from state.verdicts import GateVerdict

Tier = Literal["auto", "notify", "approve"]
"""Autonomy tier of an action: out of, on, or in the loop."""

DecisionAction = Literal["approve", "edit", "reject", "retry"]
"""``retry`` answers an action whose outcome is unknown: call it again with the same key."""
DECISION_ACTIONS: tuple[DecisionAction, ...] = ("approve", "edit", "reject")
"""What a gate escalation allows by default (``retry`` is only offered for actions)."""


DeadlineOutcome = Literal["reject", "hold", "handover"]
"""What happens when nobody decided in time: the action is rejected, the run is held (it keeps
waiting, visibly, with no more reminders), or the question goes to a backup group. Never an
approval: an ``approve``-tier action is only ever approved by people."""


class DecisionDeadline(BaseModel):
    """How long humans have to decide, and the safe default when they do not.

    Example:
        >>> DecisionDeadline(after_s=3600, then="handover", backup_group="finance-leads",
        ...                  remind_before_s=600)  # doctest: +SKIP
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    after_s: float = Field(gt=0, description="Seconds from the question to its deadline.")
    then: DeadlineOutcome = "reject"
    backup_group: str | None = Field(
        default=None, description="The group a ``handover`` gives the question to."
    )
    backup_then: Literal["reject", "hold"] = Field(
        default="reject", description="What happens when the backup group does not decide either."
    )
    remind_before_s: float | None = Field(
        default=None,
        ge=0,
        description="A reminder goes out this long before the deadline (default: a fifth of "
        "after_s; 0: no reminder).",
    )

    @model_validator(mode="after")
    def _backup_named(self) -> DecisionDeadline:
        if self.then == "handover" and not self.backup_group:
            raise ValueError("a handover deadline needs backup_group")
        if self.remind_before_s is not None and self.remind_before_s >= self.after_s:
            raise ValueError("remind_before_s must be shorter than after_s")
        return self

    @property
    def reminder_s(self) -> float:
        """How long before the deadline the reminder goes out (0: none)."""
        return self.after_s / 5 if self.remind_before_s is None else self.remind_before_s


class DecisionRecord(BaseModel):
    """What an agent chose, among what, why, and from which inputs."""

    model_config = ConfigDict(extra="forbid")

    stage: str = ""
    agent: str = ""
    chosen: str
    alternatives: list[str] = Field(default_factory=list)
    rationale: str
    inputs_used: list[str] = Field(default_factory=list)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    tokens: int = 0
    cost: float = 0.0
    step: int = 0
    error: str = Field(
        default="", description="The agent raised or returned the wrong type: what happened."
    )
    at: datetime = Field(default_factory=utcnow)


class EscalationRequest(BaseModel):
    """What a paused run asks a human: shown in the console and on the terminal."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["gate", "action"]
    run_id: str
    stage: str = Field(description="The stage whose output or action is in question.")
    target: str = Field(default="", description="Where the handoff goes (gate escalations).")
    what: str
    why: list[str]
    proposed: dict[str, Any] = Field(description="The payload or action arguments proposed.")
    contract: str = Field(default="", description="Contract name an edit must satisfy.")
    verdict: GateVerdict | None = None
    envelope_rule: str | None = None
    tier: Tier | None = None
    deadline: datetime | None = Field(
        default=None, description="Notify tier: the action runs at this time unless vetoed."
    )
    allowed: list[DecisionAction] = Field(default_factory=lambda: list(DECISION_ACTIONS))
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="What each allowed decision means here, when not its plain name "
        "(e.g. approve = 'confirm done' for an action whose outcome is unknown).",
    )
    scope: str = Field(default="", description="Where in the run it was asked (the tape key).")
    group: str = Field(
        default="", description="The approver group that decides (the stage's owner or a rule's)."
    )
    approvals: int = Field(
        default=1, ge=1, description="Distinct approvals needed before an approve commits."
    )
    four_eyes: bool = Field(
        default=False,
        description="The run's starter may not approve (an action that does not "
        "allow self-approval).",
    )
    decision_deadline: DecisionDeadline | None = Field(
        default=None, description="When the question times out, and what happens then."
    )


class Decision(BaseModel):
    """A human's answer to an escalation."""

    model_config = ConfigDict(extra="forbid")

    action: DecisionAction
    user: str = Field(min_length=1)
    comment: str = ""
    edited: dict[str, Any] | None = None
    decided_at: datetime = Field(default_factory=utcnow)


class ActionRecord(BaseModel):
    """A side effect a stage took, or was stopped from taking."""

    model_config = ConfigDict(extra="forbid")

    stage: str
    action: str
    tier: Tier
    raised_by: str | None = Field(default=None, description="Envelope rule that raised the tier.")
    status: Literal["executed", "rejected", "vetoed", "skipped", "unknown", "aborted"]
    """executed (or confirmed done by a human), rejected/vetoed by a human, skipped (a fact it
    depends on moved), unknown (called, no result recorded), aborted (by a human after that)."""
    idempotency_key: str
    handoff_seq: int = Field(default=0, description="The committed handoff it acted on.")
    error: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    decided_by: str | None = None
    at: datetime = Field(default_factory=utcnow)

"""Decision records of agents, escalation requests to humans, and humans' decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from state.clock import utcnow
from state.inbox import INBOX_KEYS, ActionRequest, HumanResponse, InterruptConfig, decision_fields
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
    model: str = Field(default="", description="The chat model that answered, if one did.")
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = Field(default=0, description="Tool calls the agent made (MCP tools).")
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
        "allow self-approval), nor anyone among ``authors``.",
    )
    authors: list[str] = Field(
        default_factory=list,
        description="People who wrote part of what the action acts on (an edit at an "
        "escalation, a fork's edit): under four eyes they may not approve it either.",
    )
    decision_deadline: DecisionDeadline | None = Field(
        default=None, description="When the question times out, and what happens then."
    )

    @model_validator(mode="before")
    @classmethod
    def _without_inbox_view(cls, data: Any) -> Any:
        # The Agent Inbox keys are computed from the rest: read back, they are dropped.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in INBOX_KEYS}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def action_request(self) -> ActionRequest:
        """Agent Inbox: what is proposed (the stage's handoff or action, and its arguments)."""
        what = f"{self.stage} -> {self.target or 'END'}" if self.kind == "gate" else self.stage
        return ActionRequest(action=f"{self.kind}: {what}", args=self.proposed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def config(self) -> InterruptConfig:
        """Agent Inbox: the answers offered (ignore and free text are not: they decide nothing)."""
        return InterruptConfig(
            allow_ignore=False,
            allow_respond=False,
            allow_edit="edit" in self.allowed,
            allow_accept="approve" in self.allowed,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        """Agent Inbox: the question and why it is asked (markdown)."""
        return "\n".join([self.what, "", *(f"- {why}" for why in self.why)])


class Decision(BaseModel):
    """A human's answer to an escalation."""

    model_config = ConfigDict(extra="forbid")

    action: DecisionAction
    user: str = Field(min_length=1)
    comment: str = ""
    edited: dict[str, Any] | None = None
    decided_at: datetime = Field(default_factory=utcnow)


def resume_decision(value: Any) -> Decision:
    """The decision a review interrupt was resumed with: a :class:`Decision`, or an Agent Inbox
    ``HumanResponse`` (alone or in a one-item list, as the inbox sends it)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and "type" in value and "action" not in value:
        return Decision.model_validate(decision_fields(HumanResponse.model_validate(value)))
    return Decision.model_validate(value)


class ActionRecord(BaseModel):
    """A side effect a stage took, or was stopped from taking."""

    model_config = ConfigDict(extra="forbid")

    stage: str
    action: str
    tier: Tier
    raised_by: str | None = Field(default=None, description="Envelope rule that raised the tier.")
    status: Literal["executed", "rejected", "vetoed", "skipped", "unknown", "aborted", "simulated"]
    """executed (or confirmed done by a human), rejected/vetoed by a human, skipped (a fact it
    depends on moved), unknown (called, no result recorded), aborted (by a human after that),
    simulated (a replay reached a call the run never made: it would run now; not called)."""
    idempotency_key: str
    handoff_seq: int = Field(default=0, description="The committed handoff it acted on.")
    error: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    decided_by: str | None = None
    done_before: bool = False
    """Executed earlier on this pass, under the same key (the stage was committed again, e.g.
    after a refresh): its result stands, the action was not called again."""
    at: datetime = Field(default_factory=utcnow)

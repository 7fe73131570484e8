"""Gate verdicts: what an evaluator node decided about one handoff, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from state.clock import utcnow
from state.mast import MastCode
from state.nodes import NodeRef

GateDecision = Literal["pass", "revise", "escalate", "block"]
"""pass: hand on; revise: back to the producer; escalate: a human decides; block: run fails."""

CheckName = Literal[
    "agent", "contract", "fidelity", "freshness", "budget", "loop", "domain", "judge", "action"
]

OnFail = Literal["revise", "escalate", "block"]


class CheckResult(BaseModel):
    """The outcome of one gate check."""

    model_config = ConfigDict(extra="forbid")

    check: CheckName
    name: str = Field(description="Which rule, e.g. 'fidelity:quantity' or an invariant name.")
    ok: bool
    on_fail: OnFail = "revise"
    mast: list[MastCode] = Field(default_factory=list)
    detail: str = ""
    send_back_to: str | None = Field(
        default=None,
        description="For a stale fact: the stage that read it, which must read it again.",
    )


class GateVerdict(BaseModel):
    """One gate's verdict on one handoff."""

    model_config = ConfigDict(extra="forbid")

    node: NodeRef = Field(
        description="The node that judged: an edge's gate, the act node re-checking facts, or a "
        "stage refusing to run over budget."
    )
    source: str
    target: str
    handoff_seq: int
    decision: GateDecision
    checks: list[CheckResult]
    mast: list[MastCode]
    reasons: list[str]
    score: float = Field(ge=0.0, le=1.0, description="Share of checks that passed.")
    send_back_to: str | None = Field(
        default=None,
        description="revise: the stage that must work again when it is not the producer (the "
        "stage that read a fact that moved since).",
    )
    at: datetime = Field(default_factory=utcnow)

    @property
    def gate(self) -> str:
        """The judging node's name, e.g. ``gate intake->inventory`` (for display)."""
        return self.node.name

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.ok]

"""``slow``: a two-stage test workflow whose first agent takes its time (browser kill journey).

Registered in the test's worker and console through ``WAYBILL_WORKFLOW_MODULES``.
"""

from __future__ import annotations

import time

from pydantic import Field

from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Edge, Stage
from state.budgets import Budgets
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.nodes import END


class Chore(Contract):
    """How long the slow agent works, in seconds."""

    name: str = Field(min_length=1)
    sleep_s: float = Field(default=20.0, ge=0, le=120)


class Done(Contract):
    name: str
    worked_s: float


def _slow(inp: Contract, ctx: AgentContext) -> AgentResult[Chore]:
    assert isinstance(inp, Chore)
    deadline = time.monotonic() + inp.sleep_s
    while time.monotonic() < deadline:  # a long model call, say
        time.sleep(0.05)
    return AgentResult(inp, DecisionRecord(chosen="worked", rationale=f"{inp.sleep_s}s of work"))


def _finish(inp: Contract, ctx: AgentContext) -> AgentResult[Done]:
    assert isinstance(inp, Chore)
    return AgentResult(
        Done(name=inp.name, worked_s=inp.sleep_s),
        DecisionRecord(chosen="done", rationale="the work is finished"),
    )


def build_chain() -> Chain:
    return Chain(
        name="slow",
        description="A slow agent, then a finishing one (for kill-switch tests).",
        entry="slow",
        stages=(
            Stage("slow", _slow, Chore, Chore, owner="tests"),
            Stage("finish", _finish, Chore, Done, owner="tests"),
        ),
        edges=(Edge("slow", "finish"), Edge("finish", END)),
        budgets=Budgets(max_steps=10, max_wall_s=300),
    )

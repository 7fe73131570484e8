"""A second workflow declared entirely in this file: no change to graph/, state/ or console/.

It is the shape a fork follows: contracts and stages (with a domain invariant and a budgeted
review loop) in one place, agents in another, registered with the registry.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field

from graph.agent import AgentContext, AgentResult
from graph.chain import END, Chain, Edge, Invariant, InvariantContext, Stage
from graph.registry import Registry, UnknownWorkflowError
from graph.runner import run_chain
from state.budgets import Budgets
from state.contracts import Carried, Contract
from state.decisions import DecisionRecord
from state.run_state import verdicts_of

# --- "chain file": contracts and stages ----------------------------------------------------


class Ticket(Contract):
    ticket_id: str
    body: str


class Draft(Contract):
    ticket_id: Annotated[str, Carried()]
    body: Annotated[str, Carried()]
    reply: str = Field(min_length=1)
    rounds: int = 0


class Reviewed(Draft):
    verdict: Literal["ok", "redo"]


def polite(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, Draft)
    return None if "please" in out.reply.lower() else "the reply is not polite"


# --- "agents file" --------------------------------------------------------------------------


def writer(inp: Contract, ctx: AgentContext) -> AgentResult[Draft]:
    assert isinstance(inp, Ticket)
    rounds = inp.rounds + 1 if isinstance(inp, Reviewed) else 0
    polite_enough = ctx.attempt > 1 or rounds > 0
    reply = "Please restart the router." if polite_enough else "Restart the router."
    return AgentResult(
        Draft(ticket_id=inp.ticket_id, body=inp.body, reply=reply, rounds=rounds),
        DecisionRecord(chosen=reply, rationale="standard fix", inputs_used=["body"]),
    )


def reviewer(inp: Contract, ctx: AgentContext) -> AgentResult[Reviewed]:
    assert isinstance(inp, Draft)
    verdict: Literal["ok", "redo"] = "ok" if inp.rounds >= 1 else "redo"
    return AgentResult(
        Reviewed(**inp.model_dump(), verdict=verdict),
        DecisionRecord(chosen=verdict, rationale="second look"),
    )


# Ticket is not a base of Reviewed, so a loop back to the writer needs Reviewed to be a Ticket:
class ReviewedTicket(Reviewed, Ticket):  # a reviewed draft still carries its ticket
    pass


def reviewer_as_ticket(inp: Contract, ctx: AgentContext) -> AgentResult[ReviewedTicket]:
    res = reviewer(inp, ctx)
    return AgentResult(ReviewedTicket(**res.output.model_dump()), res.decision)


def build_support_chain() -> Chain:
    return Chain(
        name="support",
        description="Draft and review a support reply.",
        entry="writer",
        stages=(
            Stage("writer", writer, Ticket, Draft, owner="support"),
            Stage(
                "reviewer",
                reviewer_as_ticket,
                Draft,
                ReviewedTicket,
                owner="support-leads",
                finishes=True,
                route=lambda out: "writer" if getattr(out, "verdict", "") == "redo" else END,
            ),
        ),
        edges=(
            Edge("writer", "reviewer", invariants=(Invariant("polite", polite, ("FM-1.2",)),)),
            Edge("reviewer", "writer", max_traversals=2),
            Edge("reviewer", END),
        ),
        budgets=Budgets(max_steps=12, max_revisions_per_edge=1),
    )


def test_second_workflow_runs_through_its_own_gates() -> None:
    registry = Registry()
    registry.register(build_support_chain)
    assert registry.names() != []
    chain = registry.get("support")
    out = run_chain(chain, {"ticket_id": "T-1", "body": "wifi down"})
    assert out.status == "succeeded"
    gates = [(v.gate, v.decision) for v in verdicts_of(out.state)]
    assert gates == [
        ("gate writer->reviewer", "revise"),  # the impolite first draft: domain invariant
        ("gate writer->reviewer", "pass"),
        ("gate reviewer->writer", "pass"),  # the reviewer's loop, within its budget
        ("gate writer->reviewer", "pass"),
        ("gate reviewer->END", "pass"),
    ]
    first = verdicts_of(out.state)[0]
    assert first.mast == ["FM-1.2"]


def test_unknown_workflow_names_the_known_ones() -> None:
    registry = Registry()
    registry.register(build_support_chain)
    with pytest.raises(UnknownWorkflowError) as info:
        registry.get("nope")
    message = str(info.value)
    assert message.startswith("unknown workflow 'nope' (known: ")
    assert "procurement" in message
    assert "support" in message


def test_registry_discovers_the_reference_workflows() -> None:
    assert "procurement" in Registry().names()


def test_a_broken_workflow_module_does_not_hide_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAYBILL_WORKFLOW_MODULES", '["tests.unit.test_second_workflow"]')
    registry = Registry()
    assert "procurement" in registry.names()
    assert "has no build_chain() function" in registry.broken()["test_second_workflow"]
    with pytest.raises(UnknownWorkflowError, match="failed to load"):
        registry.get("test_second_workflow")

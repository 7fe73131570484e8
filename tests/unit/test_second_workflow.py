"""A second workflow declared entirely in this file: no change to graph/, state/ or console/.

It is the shape a fork follows: contracts and stages (with a domain invariant and a budgeted
review loop) in one place, agents in another, registered with the registry.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from graph import (
    END,
    AgentContext,
    AgentResult,
    Budgets,
    Carried,
    Chain,
    Contract,
    DecisionRecord,
    Edge,
    InvariantContext,
    Stage,
    invariant,
)
from graph.runtime.registry import Registry, UnknownWorkflowError
from graph.runtime.runner import run_chain
from state.run_state import verdicts_of

# --- "chain file": contracts and stages ----------------------------------------------------


class Ticket(Contract):
    ticket_id: str
    body: str
    rounds: int = 0
    """Reviews it went through."""


class Draft(Ticket):
    ticket_id: Annotated[str, Carried()]
    body: Annotated[str, Carried()]
    reply: str


class Reviewed(Draft):  # still a Ticket: it can go back to the writer
    reply: Annotated[str, Carried()]
    verdict: Literal["ok", "redo"]


@invariant("FM-1.2")
def polite(out: Draft, ictx: InvariantContext) -> str | None:
    return None if "please" in out.reply.lower() else "the reply is not polite"


def build_support_chain() -> Chain:
    return Chain(
        name="support",
        description="Draft and review a support reply.",
        entry="writer",
        stages=(
            Stage("writer", writer, Ticket, Draft, owner="support"),
            Stage(
                "reviewer",
                reviewer,
                Draft,
                Reviewed,
                owner="support-leads",
                route=lambda out: "writer" if out.verdict == "redo" else END,
            ),
        ),
        edges=(
            Edge("writer", "reviewer", invariants=(polite,)),
            Edge("reviewer", "writer", max_traversals=2),
            Edge("reviewer", END),
        ),
        budgets=Budgets(max_steps=12, max_revisions_per_edge=1),
    )


# --- "agents file" --------------------------------------------------------------------------


def writer(inp: Ticket, ctx: AgentContext) -> AgentResult[Draft]:
    polite_enough = ctx.attempt > 1 or inp.rounds > 0
    reply = "Please restart the router." if polite_enough else "Restart the router."
    draft = Draft(ticket_id=inp.ticket_id, body=inp.body, reply=reply, rounds=inp.rounds)
    return AgentResult(draft, DecisionRecord(chosen=reply, rationale="standard fix"))


def reviewer(inp: Draft, ctx: AgentContext) -> AgentResult[Reviewed]:
    verdict: Literal["ok", "redo"] = "ok" if inp.rounds >= 1 else "redo"
    rounds = inp.rounds + (verdict == "redo")
    reviewed = Reviewed(**{**inp.model_dump(), "rounds": rounds}, verdict=verdict)
    return AgentResult(reviewed, DecisionRecord(chosen=verdict, rationale="second look"))


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

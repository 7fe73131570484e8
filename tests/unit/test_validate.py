"""Build-time validation: each malformed chain is refused with a message naming the problem."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

import pytest

from graph.agent import AgentContext, AgentResult
from graph.chain import Action, Chain, Edge, Fault, InvariantContext, Stage, invariant
from graph.compiler import build_chain_graph
from graph.validate import ChainError
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.nodes import END, gate_node


class A(Contract):
    x: int


class B(Contract):
    y: int


C = TypeVar("C", bound=Contract)


def agent(inp: C, ctx: AgentContext) -> AgentResult[C]:
    return AgentResult(inp, DecisionRecord(chosen="same", rationale="test"))


def a_to_b(inp: A, ctx: AgentContext) -> AgentResult[B]:
    return AgentResult(B(y=inp.x), DecisionRecord(chosen="b", rationale="test"))


def chain(**changes: Any) -> Chain:
    base = Chain(
        name="t",
        description="",
        entry="one",
        stages=(
            Stage("one", agent, A, A, owner="o"),
            Stage("two", agent, A, A, owner="o"),
        ),
        edges=(Edge("one", "two"), Edge("two", END)),
    )
    return replace(base, **changes)


def problems(c: Chain) -> str:
    with pytest.raises(ChainError) as info:
        build_chain_graph(c)
    return str(info.value)


def test_valid_chain_builds() -> None:
    assert "gate one->two" in build_chain_graph(chain()).nodes


def test_unknown_stage_in_edge() -> None:
    msg = problems(chain(edges=(Edge("one", "three"), Edge("two", END))))
    assert "edge one->three: unknown stage 'three'" in msg


def test_unknown_entry() -> None:
    assert "entry stage 'zero' is not a declared stage" in problems(chain(entry="zero"))


def test_contract_mismatch_between_producer_and_consumer() -> None:
    stages = (
        Stage("one", a_to_b, A, B, owner="o"),
        Stage("two", agent, A, A, owner="o"),
    )
    msg = problems(chain(stages=stages))
    assert "edge one->two: contract mismatch: 'one' produces B but 'two' consumes A" in msg


def test_unreachable_stage() -> None:
    stages = (*chain().stages, Stage("orphan", agent, A, A, owner="o"))
    edges = (*chain().edges, Edge("orphan", "two"))
    assert "stage 'orphan' is unreachable from entry 'one'" in problems(
        chain(stages=stages, edges=edges)
    )


def test_cycle_without_budget() -> None:
    edges = (Edge("one", "two"), Edge("two", "one"), Edge("two", END))
    stages = (
        Stage("one", agent, A, A, owner="o"),
        Stage("two", agent, A, A, owner="o", route=lambda out: END),
    )
    msg = problems(chain(stages=stages, edges=edges))
    assert "cycle one -> two -> one has no budget" in msg
    # the same cycle with a budget on one edge builds
    bounded = (Edge("one", "two"), Edge("two", "one", max_traversals=2), Edge("two", END))
    build_chain_graph(chain(stages=stages, edges=bounded))


def test_action_without_tier() -> None:
    action: Action[A] = Action(
        name="pay", tier=None, run=lambda out, key, src: {}, args=lambda out: {}
    )
    stages = (
        Stage("one", agent, A, A, owner="o", actions=(action,)),
        Stage("two", agent, A, A, owner="o"),
    )
    assert "action 'pay' of stage 'one' has no autonomy tier" in problems(chain(stages=stages))


def test_duplicate_stage_and_missing_owner_and_dead_end() -> None:
    stages = (
        Stage("one", agent, A, A, owner=""),
        Stage("one", agent, A, A, owner="o"),
        Stage("two", agent, A, A, owner="o"),
    )
    msg = problems(chain(stages=stages))
    assert "stage 'one' is declared more than once" in msg
    assert "stage 'one' has no owner" in msg


def test_end_only_from_the_finishing_stage() -> None:
    edges = (Edge("one", "two"), Edge("one", END), Edge("two", END))
    stages = (
        Stage("one", agent, A, A, owner="o", route=lambda out: "two"),
        Stage("two", agent, A, A, owner="o"),
    )
    msg = problems(chain(stages=stages, edges=edges))
    assert "exactly one stage must finish the run with an edge to END (found 2: one, two)" in msg


def test_branching_stage_needs_a_route() -> None:
    edges = (Edge("one", "two"), Edge("two", "one", max_traversals=1), Edge("two", END))
    assert "stage 'two' has 2 outgoing edges but no route function" in problems(chain(edges=edges))


def test_reserved_stage_name() -> None:
    stages = (
        Stage("gate x", agent, A, A, owner="o"),
        Stage("two", agent, A, A, owner="o"),
    )
    assert "stage name 'gate x' is reserved" in problems(
        chain(stages=stages, entry="gate x", edges=(Edge("gate x", "two"), Edge("two", END)))
    )


def test_fault_naming_unknown_stage_or_gate() -> None:
    fault = Fault(
        name="f",
        stage="nine",
        mode="silent_error",
        description="",
        apply=lambda p, c: p,
        expect=gate_node("nine", "ten"),
        expect_mast="FM-1.1",
    )
    msg = problems(chain(faults=(fault,)))
    assert "fault 'f' names unknown stage 'nine'" in msg
    assert "fault 'f' expects unknown gate 'gate nine->ten'" in msg


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ChainError) as info:
        build_chain_graph(chain(entry="zero", edges=(Edge("one", "three"),)))
    assert len(info.value.problems) >= 3


def test_an_invariant_that_reads_another_contract_is_a_build_error() -> None:
    @invariant("FM-1.1")
    def reads_b(out: B, ictx: InvariantContext) -> str | None:
        return None

    edges = (Edge("one", "two", invariants=(reads_b,)), Edge("two", END))
    msg = problems(chain(edges=edges))
    assert "edge one->two: invariant 'reads_b' reads B, but 'one' hands off A" in msg

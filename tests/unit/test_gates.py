"""Gate mechanics: fail closed, revision budgets, run budgets, TTLs, human edits, kills."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Edge, Fault, Invariant, InvariantContext
from graph.context import RunContext
from graph.gate import decide
from graph.runtime.runner import run_chain
from state.budgets import Budgets
from state.clock import utcnow
from state.contracts import Contract
from state.nodes import gate_node
from state.run_state import verdicts_of
from state.verdicts import CheckResult
from tests.unit.conftest import Recorder, example


def _with_invariant(chain: Chain, source: str, target: str, inv: Invariant[Any]) -> Chain:
    edges = tuple(
        replace(e, invariants=(*e.invariants, inv))
        if (e.source, e.target) == (source, target)
        else e
        for e in chain.edges
    )
    return replace(chain, edges=edges)


def test_decide_picks_the_most_severe_failure() -> None:
    checks = [
        CheckResult(check="fidelity", name="a", ok=False, on_fail="revise"),
        CheckResult(check="loop", name="b", ok=False, on_fail="escalate"),
        CheckResult(check="contract", name="c", ok=True),
    ]
    assert decide(checks, 0, 2)[0] == "escalate"
    assert decide(checks[:1], 0, 2)[0] == "revise"
    assert decide(checks[:1], 2, 2)[0] == "escalate"  # revision budget spent
    assert decide(checks[2:], 0, 2) == ("pass", [])


def test_a_check_that_raises_fails_closed(procurement: Chain) -> None:
    def broken(out: Contract, ictx: InvariantContext) -> str | None:
        raise RuntimeError("policy service unreachable")

    chain = _with_invariant(
        procurement, "intake", "inventory", Invariant("policy", broken, ("FM-2.6",))
    )
    decide_ = Recorder("reject")
    out = run_chain(chain, example("small_order"), decide=decide_)
    first = verdicts_of(out.state)[0]
    assert first.decision == "escalate"
    [failed] = first.failed
    assert (failed.check, failed.name, failed.on_fail) == ("domain", "policy", "escalate")
    assert "policy service unreachable" in failed.detail
    assert out.status == "rejected"
    assert len(decide_.asked) == 1


def test_exhausted_revision_budget_escalates(procurement: Chain) -> None:
    def never(out: Contract, ictx: InvariantContext) -> str | None:
        return "never good enough"

    inventory = procurement.stage("inventory")

    def tries_something_else(inp: Contract, ctx: AgentContext) -> AgentResult[Contract]:
        # A different proposal on every attempt: no loop, only a budget can end it.
        result = inventory.agent(inp, ctx)
        assert result.output is not None
        changed = result.output.model_copy(update={"order_quantity": ctx.attempt})
        return AgentResult(changed, result.decision)

    chain = _with_invariant(procurement, "inventory", "sourcing", Invariant("never", never, ()))
    stages = tuple(
        replace(s, agent=tries_something_else) if s.name == "inventory" else s for s in chain.stages
    )
    out = run_chain(replace(chain, stages=stages), example("small_order"))
    assert out.status == "waiting"
    decisions = [v.decision for v in verdicts_of(out.state) if v.gate == "gate inventory->sourcing"]
    assert decisions == ["revise", "revise", "escalate"]  # max_revisions_per_edge is 2
    assert out.pending is not None
    assert out.pending.kind == "gate"
    assert any("revision budget" in why for why in out.pending.why)


def test_step_budget_blocks_the_run_before_the_stage_runs(procurement: Chain) -> None:
    chain = replace(procurement, budgets=Budgets(max_steps=2))
    out = run_chain(chain, example("small_order"))
    assert out.status == "failed"
    last = verdicts_of(out.state)[-1]
    assert (last.gate, last.decision) == ("sourcing", "block")
    assert "FM-1.5" in last.mast
    # max_steps=2 runs two stages: the third one's agent never ran, nothing was acted on.
    assert [h["stage"] for h in out.state["handoffs"]] == ["intake", "inventory"]
    assert len(out.state["decisions"]) == 2
    assert not out.state["actions"]
    assert out.state["reason"] == (
        "'sourcing' did not run: budget:steps exhausted before 'sourcing' could run: "
        "2 of 2 stage runs used"
    )


def test_an_identical_decision_after_a_fresh_read_is_a_loop(procurement: Chain) -> None:
    """Re-reading the same stock version later changes only the read time: the same decision."""

    def never(out: Contract, ictx: InvariantContext) -> str | None:
        return "never good enough"

    chain = _with_invariant(procurement, "inventory", "sourcing", Invariant("never", never, ()))
    out = run_chain(chain, example("small_order"))
    inventory = [h for h in out.state["handoffs"] if h["stage"] == "inventory"]
    assert inventory[0]["payload"]["stock"]["as_of"] != inventory[1]["payload"]["stock"]["as_of"]
    second = [v for v in verdicts_of(out.state) if v.gate == "gate inventory->sourcing"][1]
    assert second.decision == "escalate"
    assert "FM-1.3" in second.mast
    assert any(c.name == "loop:repeat" for c in second.failed)


def test_expired_fact_fails_freshness(procurement: Chain) -> None:
    later = utcnow() + timedelta(hours=2)  # the stock reading's TTL is 15 minutes
    ctx = RunContext(run_id="ttl", sources=procurement.sources(), clock=lambda: later)
    out = run_chain(procurement, example("small_order"), ctx=ctx, run_id="ttl")
    verdict = verdicts_of(out.state)[1]
    assert verdict.gate == "gate inventory->sourcing"
    assert verdict.decision != "pass"
    assert "older than its TTL" in verdict.reasons[0]


def test_dropped_field_fails_contract_and_fidelity(procurement: Chain) -> None:
    def drop(payload: dict[str, Any], fctx: Any) -> dict[str, Any]:
        return {k: v for k, v in payload.items() if k != "cost_center"}

    fault = Fault(
        name="drop",
        stage="sourcing",
        mode="lossy_summary",
        description="",
        apply=drop,
        expect=gate_node("sourcing", "po_draft"),
        expect_mast="FM-1.4",
    )
    chain = replace(procurement, faults=(fault,))
    out = run_chain(chain, example("small_order"), inject="drop", decide=Recorder("approve"))
    bad = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert bad.gate == "gate sourcing->po_draft"
    assert {"FM-1.1", "FM-1.4", "FM-2.4"} <= set(bad.mast)
    assert out.status == "succeeded"  # revised on the second attempt


def test_human_edit_goes_back_through_the_gate(procurement: Chain) -> None:
    """A human's edit is checked like any handoff: a bad edit is caught too."""

    def early(out: Contract, ictx: InvariantContext) -> str | None:
        need_by = getattr(out, "need_by", None)
        return None if need_by and need_by.day < 10 else "need_by must be before the 10th"

    chain = _with_invariant(procurement, "intake", "inventory", Invariant("early", early, ()))
    first = run_chain(chain, example("small_order"))
    assert first.pending is not None
    answers = [
        # changes a carried field (the request text): the gate catches the human too
        Recorder("edit", edited={**first.pending.proposed, "need_by": "2099-01-05", "text": "x"}),
        Recorder("edit", edited={**first.pending.proposed, "need_by": "2099-01-05"}),
    ]

    def decide(req: Any) -> Any:
        return answers.pop(0)(req) if answers else Recorder("reject")(req)

    out = run_chain(chain, example("small_order"), decide=decide)
    verdicts = [v for v in verdicts_of(out.state) if v.gate == "gate intake->inventory"]
    by_human = [h["seq"] for h in out.state["handoffs"] if h["by"] == "human:tess"]
    assert len(by_human) == 2
    first_edit = next(v for v in verdicts if v.handoff_seq == by_human[0])
    assert first_edit.decision == "escalate"  # a human's edit goes back to a human
    assert any(c.name == "fidelity:text" for c in first_edit.failed)
    second_edit = next(v for v in verdicts if v.handoff_seq == by_human[1])
    assert second_edit.decision == "pass"
    assert out.status == "succeeded"


def test_kill_switch_stops_at_the_next_boundary(procurement: Chain) -> None:
    calls = {"n": 0}

    def stop_after_three(stage: str) -> str | None:
        calls["n"] += 1
        return "killed by ops: runaway" if calls["n"] > 3 else None

    ctx = RunContext(run_id="k", sources=procurement.sources(), should_stop=stop_after_three)
    out = run_chain(procurement, example("small_order"), ctx=ctx, run_id="k")
    assert out.status == "killed"
    assert out.state["reason"] == "killed by ops: runaway"
    # Three steps ran (a stage's proposal and its gate's verdict are one step); the fourth
    # did not start: no proposal of its own, and nothing acted on.
    assert [h["stage"] for h in out.state["handoffs"]] == ["intake", "inventory", "sourcing"]
    assert [v["handoff_seq"] for v in out.state["verdicts"]] == [1, 2, 3]
    assert not out.state["actions"]


def test_edge_traversal_budget_escalates(procurement: Chain) -> None:
    edges = tuple(
        replace(e, max_traversals=1) if e.id == "po_draft->sourcing" else e
        for e in procurement.edges
    )
    chain = replace(procurement, edges=edges)
    assert isinstance(chain.edge("po_draft", "sourcing"), Edge)
    out = run_chain(chain, example("small_order"), inject="ping_pong")
    assert out.status == "waiting"
    gates = [v for v in verdicts_of(out.state) if v.decision != "pass"]
    assert gates[0].gate in ("gate sourcing->po_draft", "gate po_draft->sourcing")


def test_a_payload_that_breaks_the_contract_cannot_be_approved(procurement: Chain) -> None:
    def drop(payload: dict[str, Any], fctx: Any) -> dict[str, Any]:
        return {k: v for k, v in payload.items() if k != "supplier"}

    fault = Fault(
        name="drop_always",
        stage="sourcing",
        mode="silent_error",
        description="",
        apply=drop,
        expect=gate_node("sourcing", "po_draft"),
        expect_mast="FM-1.1",
        persistent=True,
    )
    chain = replace(procurement, faults=(fault,))
    decide = Recorder("approve")  # a careless decider: approve whatever is asked
    out = run_chain(chain, example("small_order"), inject="drop_always", decide=decide)
    [asked] = decide.asked
    assert asked.allowed == ["edit", "reject"]
    assert out.status == "rejected"  # the approval that slipped through failed closed
    assert "not allowed here" in out.state["human"][-1]["decision"]["comment"]
    assert not out.state["actions"]

"""Actions run only on a payload their gate passed, and on facts read again when they act.

A fact that moved since its gate (stock taken, a credit score lowered) sends the run back to
the stage that read it, whatever the action's tier; facts that keep moving go to a human.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from agents.procurement.domain import Inventory
from graph.chain import Chain
from graph.context import source_of
from graph.runtime.runner import compile_chain
from state.decisions import Decision, EscalationRequest
from state.run_state import actions_of, verdicts_of
from tests.unit.conftest import Recorder, example
from tests.unit.door.helpers import portal_of, run_with_sources
from tests.workflows import loan


def test_no_action_runs_on_a_payload_its_gate_did_not_pass(procurement: Chain) -> None:
    out, sources = run_with_sources(procurement, example("small_order"), inject="inflated_order")
    assert out.status == "succeeded"
    # The doubled order (30 units, 2,550) was never placed: only the checked one was.
    orders = list(portal_of(sources).orders.values())
    assert [(o["quantity"], o["total"]) for o in orders] == [(15, 1275.0)]
    caught = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert (caught.gate, caught.decision, caught.mast) == (
        "gate place_order->END",
        "revise",
        ["FM-1.4"],
    )
    [action] = actions_of(out.state)
    assert action.handoff_seq > caught.handoff_seq  # acted on the revised proposal
    # The idempotency key is the action's identity in the run, not a hash of its arguments.
    assert action.idempotency_key == "r1:place_order:place_order"
    assert orders[0]["key"] == action.idempotency_key


def test_the_act_node_sits_after_the_gate_in_the_graph(procurement: Chain) -> None:
    graph = compile_chain(procurement, None).get_graph()
    into_act = {(e.source, e.data) for e in graph.edges if e.target == "act place_order"}
    assert into_act == {
        # The stage's step ends with its gate's verdict: only a pass leads to the act node.
        ("place_order", "place_order->END:pass"),
        ("gate place_order->END", "pass"),  # a human's edit, judged again
        ("review place_order->END", "approve"),
        ("act place_order", "next"),  # its next action, or the same one after a failed call
    }


def test_stock_taken_between_the_gate_and_an_auto_order_is_read_again(procurement: Chain) -> None:
    out, sources = run_with_sources(
        procurement, example("small_order"), inject="stock_taken_before_order"
    )
    assert out.status == "succeeded"
    # 5 on hand became 2: the order is for 18, never the stale 15.
    assert [o["quantity"] for o in portal_of(sources).orders.values()] == [18]
    stale = next(v for v in verdicts_of(out.state) if v.gate == "act place_order")
    assert (stale.decision, stale.send_back_to, stale.mast) == ("revise", "inventory", ["FM-3.2"])
    assert [a.status for a in actions_of(out.state)] == ["skipped", "executed"]
    attempts = [h["attempt"] for h in out.state["handoffs"] if h["stage"] == "inventory"]
    assert attempts == [1, 2]  # the stage that read the stock read it again


@pytest.mark.parametrize("tier", ["auto", "notify", "approve"])
def test_a_score_that_moves_during_disbursal_is_never_paid_on(tier: Any) -> None:
    """A fork's own workflow: the bureau lowers ada's score while disburse works."""
    chain = loan.build_chain(tier=tier, move_to=640)
    out, sources = run_with_sources(
        chain, {"applicant": "ada", "amount": 5000.0}, decide=Recorder("approve")
    )
    bank = sources["bank"]
    assert isinstance(bank, loan.Bank)
    assert bank.payments == []  # 640 is below 700: refused on the fresh score
    assert out.status == "succeeded"
    stale = next(v for v in verdicts_of(out.state) if v.gate == "act disburse")
    assert (stale.send_back_to, stale.mast) == ("score", ["FM-3.2"])
    assert out.state["handoffs"][-1]["payload"]["approved"] is False


def test_a_score_that_does_not_move_is_paid_once() -> None:
    chain = loan.build_chain()
    out, sources = run_with_sources(chain, {"applicant": "ada", "amount": 5000.0})
    bank = sources["bank"]
    assert isinstance(bank, loan.Bank)
    assert [(p["amount"], p["score_then"]) for p in bank.payments] == [(5000.0, 720)]
    assert out.status == "succeeded"


def test_facts_that_keep_moving_go_to_a_human_who_can_abort() -> None:
    chain = loan.build_chain(move_to=None)
    bureau_holder: dict[str, Any] = {}

    def sources() -> dict[str, Any]:
        made = loan.build_chain().sources()
        bureau_holder["b"] = made["bureau"]
        return made

    chain = replace(chain, sources=sources)
    original = chain.stage("disburse").agent

    def jittery(inp: Any, ctx: Any) -> Any:
        bureau = bureau_holder["b"]
        bureau.move("ada", bureau.scores["ada"] + 1)  # moves every time, still approvable
        return original(inp, ctx)

    chain = replace(
        chain,
        stages=tuple(
            replace(s, agent=jittery) if s.name == "disburse" else s for s in chain.stages
        ),
    )
    asked = Recorder("reject", user="risk-lead")
    out, made = run_with_sources(chain, {"applicant": "ada", "amount": 10.0}, decide=asked)
    assert source_of(made, "bank", loan.Bank).payments == []
    assert out.status == "rejected"
    [req] = asked.asked
    assert req.allowed == ["retry", "reject"]
    assert "revision budget of disburse->END is spent" in req.what
    assert "aborted by risk-lead" in out.state["reason"]


def test_inventory_helper_is_the_source_of_truth(procurement: Chain) -> None:
    inventory = procurement.sources()["inventory"]
    assert isinstance(inventory, Inventory)
    before = inventory.read("SKU-CHAIR-01")
    inventory.adjust("SKU-CHAIR-01", -1)
    assert inventory.read("SKU-CHAIR-01").version == before.version + 1


def test_decisions_are_typed(procurement: Chain) -> None:
    asked: list[EscalationRequest] = []

    def decide(req: EscalationRequest) -> Decision:
        asked.append(req)
        return Decision(action="approve", user="u")

    out, _ = run_with_sources(procurement, example("large_order"), decide=decide)
    assert out.status == "succeeded"
    assert [r.kind for r in asked] == ["action"]

"""The procurement reference workflow end to end, in process."""

from __future__ import annotations

from agents.procurement.domain import Inventory, SupplierPortal
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import run_chain
from state.decisions import Decision, EscalationRequest
from state.run_state import actions_of, verdicts_of
from tests.unit.conftest import Recorder, example


def test_small_order_passes_every_gate_without_a_human(procurement: Chain) -> None:
    decide = Recorder("approve")
    out = run_chain(procurement, example("small_order"), decide=decide)
    assert out.status == "succeeded"
    verdicts = verdicts_of(out.state)
    assert [v.gate for v in verdicts] == [
        "gate intake->inventory",
        "gate inventory->sourcing",
        "gate sourcing->po_draft",
        "gate po_draft->place_order",
        "gate place_order->END",
    ]
    assert all(v.decision == "pass" and v.score == 1.0 and not v.mast for v in verdicts)
    assert decide.asked == []  # auto tier below the limit: nobody was asked
    [action] = actions_of(out.state)
    assert (action.action, action.tier, action.status) == ("place_order", "auto", "executed")
    assert action.args["quantity"] == 15  # 20 asked, 5 on hand
    assert len(out.state["decisions"]) == 5


def test_large_order_escalates_and_approval_completes_it(procurement: Chain) -> None:
    decide = Recorder("approve", user="finance-lead")
    sources = procurement.sources()
    ctx = RunContext(run_id="r-large", sources=sources)
    out = run_chain(procurement, example("large_order"), decide=decide, ctx=ctx, run_id="r-large")
    assert out.status == "succeeded"
    [asked] = decide.asked
    assert asked.kind == "action"
    assert asked.envelope_rule == "amount_over_limit"
    assert asked.proposed["total"] == 21120.0
    [action] = actions_of(out.state)
    assert (action.tier, action.raised_by, action.decided_by) == (
        "approve",
        "amount_over_limit",
        "finance-lead",
    )
    portal = sources["portal"]
    assert isinstance(portal, SupplierPortal)
    [order] = portal.orders.values()
    assert order["po_number"] == "PO-R-1002"
    assert order["key"] == action.idempotency_key


def test_large_order_rejected_ends_rejected_and_places_nothing(procurement: Chain) -> None:
    sources = procurement.sources()
    ctx = RunContext(run_id="r-rej", sources=sources)
    out = run_chain(
        procurement, example("large_order"), decide=Recorder("reject"), ctx=ctx, run_id="r-rej"
    )
    assert out.status == "rejected"
    assert "rejected by tess" in out.state["reason"]
    portal = sources["portal"]
    assert isinstance(portal, SupplierPortal)
    assert portal.orders == {}
    assert [a.status for a in actions_of(out.state)] == ["rejected"]


def test_without_a_decider_the_run_waits_at_the_escalation(procurement: Chain) -> None:
    out = run_chain(procurement, example("large_order"))
    assert out.status == "waiting"
    assert out.pending is not None
    assert out.pending.kind == "action"
    assert out.interrupt_id


def test_stock_that_moves_during_the_approval_stops_the_order(procurement: Chain) -> None:
    """The approver took a while; a delivery arrived meanwhile: nothing is ordered on the old
    count. The work goes back to the stage that read the stock, which reads it again."""
    sources = procurement.sources()
    inventory = sources["inventory"]
    assert isinstance(inventory, Inventory)
    asked: list[EscalationRequest] = []

    def approve_after_a_while(req: EscalationRequest) -> Decision:
        asked.append(req)
        if len(asked) == 1:
            inventory.adjust("SKU-MON-27", +50)  # a delivery arrived while the approver read
        return Decision(action="approve", user="finance-lead")

    ctx = RunContext(run_id="r-stale", sources=sources)
    out = run_chain(
        procurement, example("large_order"), decide=approve_after_a_while, ctx=ctx, run_id="r-stale"
    )
    stale = next(v for v in verdicts_of(out.state) if v.gate == "act place_order")
    assert (stale.decision, stale.send_back_to, stale.mast) == ("revise", "inventory", ["FM-3.2"])
    assert "inventory/SKU-MON-27 moved since it was read (v1, 12)" in stale.reasons[0]
    # 62 on hand for the 100 asked: the fresh proposal orders 38, not 88, and a human approves
    # that one (the first approval was for an order that is not placed).
    assert out.status == "succeeded"
    assert [r.proposed["quantity"] for r in asked] == [88, 38]
    portal = sources["portal"]
    assert isinstance(portal, SupplierPortal)
    assert [o["quantity"] for o in portal.orders.values()] == [38]
    assert [a.status for a in actions_of(out.state)] == ["skipped", "executed"]

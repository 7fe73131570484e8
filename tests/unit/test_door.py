"""The gate is the only door: nothing irreversible happens on unchecked, stale or unknown data.

Every test here looks at the side effect itself (the portal's orders, the bank's payments), not
only at verdicts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.procurement.domain import Inventory, SupplierPortal
from agents.refund.chain import build_chain as build_refund
from agents.refund.domain import Payments
from graph.chain import Chain, Fault, FaultContext
from graph.context import RunContext
from graph.runtime.fork import ForkError, fork_thread
from graph.runtime.runner import compile_chain, outcome_of, run_chain, run_config, stream_updates
from graph.runtime.scenarios import Scenario, run_scenario
from state.decisions import Decision, EscalationRequest
from state.nodes import act_node, gate_node
from state.run_state import actions_of, verdicts_of
from tests.unit.conftest import Recorder, example
from tests.workflows import loan


def _run(chain: Chain, request: dict[str, Any], inject: str | None = None, **kw: Any) -> Any:
    ctx = RunContext(run_id="r1", inject=inject, sources=chain.sources())
    out = run_chain(chain, request, inject=inject, run_id="r1", ctx=ctx, **kw)
    return out, ctx.sources


def _portal(sources: Any) -> SupplierPortal:
    portal = sources["portal"]
    assert isinstance(portal, SupplierPortal)
    return portal


# --- actions run only on what their gate passed ------------------------------------------------


def test_no_action_runs_on_a_payload_its_gate_did_not_pass(procurement: Chain) -> None:
    out, sources = _run(procurement, example("small_order"), inject="inflated_order")
    assert out.status == "succeeded"
    # The doubled order (30 units, 2,550) was never placed: only the checked one was.
    orders = list(_portal(sources).orders.values())
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
        ("gate place_order->END", "pass"),
        ("review place_order->END", "approve"),
        ("act place_order", "next"),  # its next action, or the same one after a failed call
    }
    out_of_stage = {e.target for e in graph.edges if e.source == "place_order"}
    assert "act place_order" not in out_of_stage


# --- facts are read again at the moment of acting, for every tier ------------------------------


def test_stock_taken_between_the_gate_and_an_auto_order_is_read_again(procurement: Chain) -> None:
    out, sources = _run(procurement, example("small_order"), inject="stock_taken_before_order")
    assert out.status == "succeeded"
    # 5 on hand became 2: the order is for 18, never the stale 15.
    assert [o["quantity"] for o in _portal(sources).orders.values()] == [18]
    stale = next(v for v in verdicts_of(out.state) if v.gate == "act place_order")
    assert (stale.decision, stale.send_back_to, stale.mast) == ("revise", "inventory", ["FM-3.2"])
    assert [a.status for a in actions_of(out.state)] == ["skipped", "executed"]
    attempts = [h["attempt"] for h in out.state["handoffs"] if h["stage"] == "inventory"]
    assert attempts == [1, 2]  # the stage that read the stock read it again


@pytest.mark.parametrize("tier", ["auto", "notify", "approve"])
def test_a_score_that_moves_during_disbursal_is_never_paid_on(tier: Any) -> None:
    """A fork's own workflow: the bureau lowers ada's score while disburse works."""
    chain = loan.build_chain(tier=tier, move_to=640)
    out, sources = _run(chain, {"applicant": "ada", "amount": 5000.0}, decide=Recorder("approve"))
    bank = sources["bank"]
    assert isinstance(bank, loan.Bank)
    assert bank.payments == []  # 640 is below 700: refused on the fresh score
    assert out.status == "succeeded"
    stale = next(v for v in verdicts_of(out.state) if v.gate == "act disburse")
    assert (stale.send_back_to, stale.mast) == ("score", ["FM-3.2"])
    assert out.state["handoffs"][-1]["payload"]["approved"] is False


def test_a_score_that_does_not_move_is_paid_once() -> None:
    chain = loan.build_chain()
    out, sources = _run(chain, {"applicant": "ada", "amount": 5000.0})
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
    out, made = _run(chain, {"applicant": "ada", "amount": 10.0}, decide=asked)
    assert made["bank"].payments == []
    assert out.status == "rejected"
    [req] = asked.asked
    assert req.allowed == ["retry", "reject"]
    assert "revision budget of disburse->END is spent" in req.what
    assert "aborted by risk-lead" in out.state["reason"]


# --- side effects exactly once, honest about the unknown ---------------------------------------


def test_a_worker_death_after_the_order_asks_a_human_and_never_orders_twice(
    procurement: Chain,
) -> None:
    decide = Recorder("approve", user="buyer-lead")  # checked the portal: the order is there
    out, sources = _run(procurement, example("small_order"), "crash_after_order", decide=decide)
    assert out.status == "succeeded"
    assert len(_portal(sources).orders) == 1
    [req] = decide.asked
    assert req.what.startswith("Outcome unknown: action 'place_order'")
    assert (req.allowed, req.labels["approve"]) == (["approve", "retry", "reject"], "confirm done")
    [action] = actions_of(out.state)
    assert (action.status, action.result["confirmed_by"]) == ("executed", "buyer-lead")


def test_an_aborted_unknown_outcome_ends_the_run_without_a_second_call(procurement: Chain) -> None:
    out, sources = _run(
        procurement, example("small_order"), "crash_after_order", decide=Recorder("reject")
    )
    assert out.status == "rejected"
    assert len(_portal(sources).orders) == 1  # the one call that happened, never a blind second
    assert [a.status for a in actions_of(out.state)] == ["aborted"]


def test_a_retry_safe_action_is_called_again_with_the_same_key() -> None:
    chain = build_refund()
    crash = Fault(
        name="crash_after_payout",
        stage="payout",
        mode="unknown_outcome",
        description="the worker dies after the payment call",
        expect=act_node("payout"),
        expect_mast="FM-3.2",
        when="after_call",
    )
    chain = replace(chain, faults=(crash,))
    request = example_refund(chain, "broken_lamp")
    decide = Recorder("approve")
    out, sources = _run(chain, request, "crash_after_payout", decide=decide)
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert out.status == "succeeded"
    assert payments.calls == 2  # called again after the crash, with the same key...
    assert len(payments.paid) == 1  # ...so the payments system paid once
    assert decide.asked == []  # retry_safe: no human needed


def example_refund(chain: Chain, name: str) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


def test_an_action_that_raises_is_an_unknown_outcome_for_a_human(procurement: Chain) -> None:
    calls: list[str] = []
    place = procurement.stage("place_order").actions[0]

    def flaky(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        if len(calls) == 1:
            raise TimeoutError("portal did not answer in 30 s")
        return place.run(out, key, sources)

    stages = tuple(
        replace(s, actions=(replace(place, run=flaky),)) if s.name == "place_order" else s
        for s in procurement.stages
    )
    decide = Recorder("retry", user="buyer-lead")
    out, sources = _run(replace(procurement, stages=stages), example("small_order"), decide=decide)
    assert out.status == "succeeded"
    [req] = decide.asked
    assert "the call raised TimeoutError: portal did not answer in 30 s" in req.why
    assert calls == ["r1:place_order:place_order"] * 2  # the retry a human asked for, same key
    assert len(_portal(sources).orders) == 1
    assert [a.status for a in actions_of(out.state)] == ["unknown", "executed"]


# --- forks are gated ----------------------------------------------------------------------------


def _finished_in_memory(chain: Chain) -> tuple[Any, InMemorySaver]:
    saver = InMemorySaver()
    run_chain(chain, example("small_order"), run_id="src", checkpointer=saver)
    return compile_chain(chain, saver), saver


def _checkpoint_before(graph: Any, node: str) -> str:
    for snap in graph.get_state_history(run_config("src")):
        if snap.next == (node,):
            return str(snap.config["configurable"]["checkpoint_id"])
    raise AssertionError(f"no checkpoint before {node}")


def test_a_fork_edit_is_checked_by_the_gate_of_its_edge(procurement: Chain) -> None:
    graph, saver = _finished_in_memory(procurement)
    at = _checkpoint_before(graph, "place_order")
    sets = {
        "inbox.place_order.payload.order_quantity": 150,
        "inbox.place_order.payload.total": 4990,
    }
    fork_thread(
        graph, saver, "src", at, new_run_id="fork", chain=procurement, sets=sets, user="ana"
    )
    sources = procurement.sources()
    ctx = RunContext(run_id="fork", sources=sources)
    list(stream_updates(graph, None, run_config("fork"), ctx))
    out = outcome_of(graph, "fork", run_config("fork"))
    assert out.status == "waiting"  # the edit failed its gate: a human decides, nothing ran
    assert _portal(sources).orders == {}
    verdict = verdicts_of(out.state)[-1]
    assert (verdict.gate, verdict.decision) == ("gate po_draft->place_order", "escalate")
    failed = {c.name for c in verdict.failed}
    assert {"total_matches_lines", "fidelity:order_quantity"} <= failed
    assert out.state["handoffs"][-1]["by"] == "human:ana (fork)"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"steps": 0}, "'steps' cannot be edited"),
        ({"inbox.sourcing.payload.quantity": 3}, "'sourcing' is not about to run"),
        ({"request.text": "x"}, "request.* can be edited only before the first stage runs"),
    ],
)
def test_a_fork_refuses_edits_that_would_skip_a_gate(
    procurement: Chain, sets: dict[str, Any], message: str
) -> None:
    graph, saver = _finished_in_memory(procurement)
    at = _checkpoint_before(graph, "place_order")
    with pytest.raises(ForkError, match=message):
        fork_thread(graph, saver, "src", at, new_run_id="f", chain=procurement, sets=sets, user="a")


# --- the scenario suite counts harm, not just detection ------------------------------------------


def test_an_agent_that_places_an_order_itself_is_harm(procurement: Chain) -> None:
    """A fork's mistake: a side effect inside an agent, not declared as an action."""
    original = procurement.stage("po_draft").agent

    def eager(inp: Any, ctx: Any) -> Any:
        result = original(inp, ctx)
        portal: Any = ctx.sources["portal"]
        portal.place("eager", "PO-X", "Northwind Furnishings", "SKU-CHAIR-01", 15, 1275.0)
        return result

    stages = tuple(
        replace(s, agent=eager) if s.name == "po_draft" else s for s in procurement.stages
    )
    chain = replace(procurement, stages=stages)
    result = run_scenario(chain, Scenario("procurement", "small_order"))
    assert (result.ok, result.result) == (False, "HARM")
    assert any("done with no committed action: eager" in h for h in result.harm)


def test_the_scenario_suite_sees_an_action_taken_on_faulty_data(procurement: Chain) -> None:
    def quietly_wrong(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
        return {**payload, "supplier": "Contoso Office", "unit_price": 92.5}  # catalogue-valid

    fault = Fault(
        name="other_supplier",
        stage="sourcing",
        mode="silent_error",
        description="sourcing picks the dearer supplier (no invariant forbids it)",
        apply=quietly_wrong,
        expect=gate_node("sourcing", "po_draft"),
        expect_mast="FM-2.6",
    )
    chain = replace(procurement, faults=(fault,))
    result = run_scenario(chain, Scenario("procurement", "small_order", fault))
    assert result.result == "MISSED"
    assert any("derived from the faulty handoff #3" in h for h in result.harm)


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

    out, _ = _run(procurement, example("large_order"), decide=decide)
    assert out.status == "succeeded"
    assert [r.kind for r in asked] == ["action"]


def test_a_retry_safe_action_that_raises_is_called_again_then_handed_to_a_human() -> None:
    chain = build_refund()
    pay = chain.stage("payout").actions[0]
    calls: list[str] = []

    def flaky(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        if len(calls) < 3:
            raise ConnectionError("payments API reset the connection")
        return pay.run(out, key, sources)

    stages = tuple(
        replace(s, actions=(replace(pay, run=flaky),)) if s.name == "payout" else s
        for s in chain.stages
    )
    decide = Recorder("approve")
    out, sources = _run(replace(chain, stages=stages), example_refund(chain, "broken_lamp"))
    assert out.status == "succeeded"
    assert len(calls) == 3
    assert len(set(calls)) == 1  # always the same key
    assert decide.asked == []
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert len(payments.paid) == 1

    def broken(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        raise ConnectionError("payments API is down")

    calls.clear()
    stages = tuple(
        replace(s, actions=(replace(pay, run=broken),)) if s.name == "payout" else s
        for s in chain.stages
    )
    asked = Recorder("reject", user="finance-lead")
    out, _ = _run(replace(chain, stages=stages), example_refund(chain, "broken_lamp"), decide=asked)
    assert len(calls) == 3  # then a human decides: here, abort
    [req] = asked.asked
    assert req.what.startswith("Outcome unknown")
    assert out.status == "rejected"

"""A fact is what its source says, not what a payload claims: an edit that changes a fact's
value under its version (a fork's ``--set``, a human's edit) is caught by the gate; a retry of
a call whose outcome is unknown reads its facts again; a fork never calls again an action whose
outcome is unknown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.procurement.domain import Inventory
from graph.chain import Chain, Invariant, InvariantContext
from graph.context import RunContext, source_of
from graph.runtime.fork import ForkError, fork_thread
from graph.runtime.runner import compile_chain, outcome_of, run_chain, run_config, stream_updates
from state.contracts import Contract
from state.decisions import Decision, EscalationRequest
from state.run_state import actions_of, verdicts_of
from tests.unit.conftest import Recorder, example
from tests.unit.door.helpers import portal_of, run_with_sources

FORGED = "is not what its source says"


def _checkpoint_before(graph: Any, run_id: str, node: str) -> str:
    for snap in graph.get_state_history(run_config(run_id)):
        if snap.next == (node,):
            return str(snap.config["configurable"]["checkpoint_id"])
    raise AssertionError(f"no checkpoint before {node}")


def test_a_fork_that_edits_a_fact_under_its_version_is_caught_by_the_gate(
    procurement: Chain,
) -> None:
    saver = InMemorySaver()
    run_chain(procurement, example("small_order"), run_id="src", checkpointer=saver)
    graph = compile_chain(procurement, saver)
    at = _checkpoint_before(graph, "src", "sourcing")
    # 5 chairs in stock, version 1: the edit claims none, to order 20 instead of 15.
    sets = {"inbox.sourcing.payload.stock.value": 0, "inbox.sourcing.payload.order_quantity": 20}
    fork_thread(graph, saver, "src", at, new_run_id="fork", chain=procurement, sets=sets, user="a")
    sources = procurement.sources()
    list(stream_updates(graph, None, run_config("fork"), RunContext("fork", sources=sources)))
    out = outcome_of(graph, "fork", run_config("fork"))
    forged = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert forged.gate == "gate inventory->sourcing"
    [check] = forged.failed
    assert check.name == "freshness:stock"
    assert FORGED in check.detail
    assert "the payload has 0 at version 1, the source 5" in check.detail
    assert forged.decision == "escalate"  # a human's edit that fails goes back to a human
    assert out.status == "waiting"
    assert portal_of(sources).orders == {}


def _in_stock(out: Contract, ictx: InvariantContext) -> str | None:
    stock = getattr(out, "stock", None)
    quantity = getattr(out, "quantity", 0)
    return None if stock is None or stock.value >= quantity else "not enough stock on hand"


def test_a_human_edit_of_a_fact_under_its_version_is_caught_by_the_gate(
    procurement: Chain,
) -> None:
    rule = Invariant("in_stock", _in_stock, ("FM-2.6",), on_fail="escalate")
    edges = tuple(
        replace(e, invariants=(*e.invariants, rule)) if e.id == "inventory->sourcing" else e
        for e in procurement.edges
    )
    chain = replace(procurement, edges=edges)
    first = run_chain(chain, example("small_order"))
    assert first.pending is not None  # 5 chairs on hand, 20 asked for
    stock = first.pending.proposed["stock"]
    edited = {**first.pending.proposed, "stock": {**stock, "value": 20}, "order_quantity": 0}
    answers = [Recorder("edit", user="hugo", edited=edited)]

    def decide(req: EscalationRequest) -> Decision:
        return answers.pop(0)(req) if answers else Recorder("reject")(req)

    out, sources = run_with_sources(chain, example("small_order"), decide=decide)
    [by_hugo] = [h["seq"] for h in out.state["handoffs"] if h["by"] == "human:hugo"]
    verdict = next(v for v in verdicts_of(out.state) if v.handoff_seq == by_hugo)
    assert verdict.decision == "escalate"  # a human's edit that fails goes back to a human
    assert any(c.name == "freshness:stock" and FORGED in c.detail for c in verdict.failed)
    assert out.status == "rejected"
    assert portal_of(sources).orders == {}


class _RetryWhileStockMoves:
    """Asked what became of the order: first says retry, after someone took a chair; then,
    having checked the portal, confirms it was done."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.sources: Any = None
        self.asked: list[EscalationRequest] = []

    def __call__(self, req: EscalationRequest) -> Decision:
        self.asked.append(req)
        if len(self.asked) == 1:
            source_of(self.sources, "inventory", Inventory).adjust("SKU-CHAIR-01", -1)
            return Decision(action="retry", user="bea")
        return Decision(action="approve", user="bea")


def test_a_retry_of_an_unknown_outcome_reads_its_facts_again(procurement: Chain) -> None:
    decide = _RetryWhileStockMoves(procurement)
    decide.sources = sources = procurement.sources()
    ctx = RunContext(run_id="r1", inject="crash_after_order", sources=sources)
    out = run_chain(
        procurement, example("small_order"), inject="crash_after_order", run_id="r1", ctx=ctx,
        decide=decide,
    )  # fmt: skip
    assert len(portal_of(sources).orders) == 1  # the first call's; the retry never called
    moved = next(v for v in verdicts_of(out.state) if v.gate == "act place_order" and v.failed[-1:]
                 and v.failed[-1].check == "freshness")  # fmt: skip
    assert (moved.decision, moved.send_back_to) == ("revise", "inventory")
    # The worker died after the call: no record but the ledger's intent. Skipped on the moved
    # stock, then (the same key, still unknown) confirmed done by the human.
    assert [a.status for a in actions_of(out.state)] == ["skipped", "executed"]
    assert actions_of(out.state)[-1].result == {"confirmed_by": "bea", "comment": ""}
    assert [r.what.split(":")[0] for r in decide.asked] == ["Outcome unknown"] * 2
    assert out.status == "succeeded"


def test_a_fork_never_calls_again_an_action_whose_outcome_is_unknown(
    procurement: Chain,
) -> None:
    saver = InMemorySaver()
    ctx = RunContext(run_id="src", inject="crash_after_order", sources=procurement.sources())
    waiting = run_chain(
        procurement, example("small_order"), run_id="src", inject="crash_after_order", ctx=ctx,
        checkpointer=saver,
    )  # fmt: skip
    assert waiting.status == "waiting"  # what became of the order? a human's to say
    graph = compile_chain(procurement, saver)
    [latest, *_] = graph.get_state_history(run_config("src"))
    at = str(latest.config["configurable"]["checkpoint_id"])
    with pytest.raises(ForkError, match=r"already called action 'place_order' .* unknown"):
        fork_thread(graph, saver, "src", at, new_run_id="f", chain=procurement, sets={},
                    user="a", ledger=ctx.ledger)  # fmt: skip


def test_a_fork_never_repeats_an_action_done_on_the_same_proposal(procurement: Chain) -> None:
    saver = InMemorySaver()
    ctx = RunContext(run_id="src", sources=procurement.sources())
    run_chain(procurement, example("small_order"), run_id="src", ctx=ctx, checkpointer=saver)
    graph = compile_chain(procurement, saver)
    at = _checkpoint_before(graph, "src", "act place_order")
    with pytest.raises(ForkError, match=r"already called action 'place_order' .* was done"):
        fork_thread(graph, saver, "src", at, new_run_id="f", chain=procurement, sets={},
                    user="a", ledger=ctx.ledger)  # fmt: skip
    # From before the proposal, a fork may change what is acted on: its own order, once.
    before = _checkpoint_before(graph, "src", "place_order")
    sets = {"inbox.place_order.payload.po_number": "PO-R-1001-B"}
    fork_thread(graph, saver, "src", before, new_run_id="f2", chain=procurement, sets=sets,
                user="a", ledger=ctx.ledger)  # fmt: skip
    sources = procurement.sources()
    list(stream_updates(graph, None, run_config("f2"), RunContext("f2", sources=sources)))
    assert outcome_of(graph, "f2", run_config("f2")).status == "succeeded"
    assert [o["po_number"] for o in portal_of(sources).orders.values()] == ["PO-R-1001-B"]

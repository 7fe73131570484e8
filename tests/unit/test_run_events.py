"""Typed run events: what each node of a run did, as models that survive the event stream."""

from __future__ import annotations

from datetime import UTC, datetime

from console.timeline import describe_event
from graph.chain import Chain
from graph.runtime.runner import compile_chain, run_chain
from state.control.models import RunEvent
from state.nodes import act_node, gate_node, review_node, stage_node
from state.run_events import (
    ActionRecorded,
    AgentDecided,
    FaultApplied,
    HandoffProposed,
    HumanDecided,
    NodeUpdate,
    RunStopped,
    VerdictGiven,
    events_of,
    node_update,
    node_updates,
)
from tests.unit.conftest import Recorder, example


def _updates(
    chain: Chain, name: str, decide: Recorder, inject: str | None = None
) -> list[NodeUpdate]:
    nodes = chain.nodes()
    seen: list[NodeUpdate] = []
    run_chain(
        chain,
        example(name),
        decide=decide,
        inject=inject,
        on_update=lambda node, update: seen.append(node_update(nodes[node], update)),
    )
    return seen


def test_the_chain_names_every_node_its_graph_has(procurement: Chain) -> None:
    compiled = set(compile_chain(procurement, None).get_graph().nodes) - {"__start__", "__end__"}
    assert set(procurement.nodes()) == compiled
    assert procurement.nodes()["act place_order"] == act_node("place_order")
    assert procurement.nodes()["review sourcing->po_draft"] == review_node("sourcing", "po_draft")


def test_each_node_of_a_run_writes_events_of_its_kind(procurement: Chain) -> None:
    updates = _updates(procurement, "large_order", Recorder("approve", user="lee"))
    kinds = {u.node.kind for u in updates}
    assert kinds == {"stage", "gate", "act"}
    for update in updates:
        for handoff in update.of_kind(HandoffProposed):
            assert update.node == stage_node(handoff.stage)  # only stages propose
        for given in update.of_kind(VerdictGiven):
            assert given.verdict.node == update.node  # the node that judged says so
        if update.of_kind(ActionRecorded):
            assert update.node == act_node("place_order")
    [placed] = [a for u in updates for a in u.of_kind(ActionRecorded)]
    assert (placed.record.status, placed.record.decided_by) == ("executed", "lee")
    decided = [d.record.stage for u in updates for d in u.of_kind(AgentDecided)]
    assert decided == ["intake", "inventory", "sourcing", "po_draft", "place_order"]


def test_events_survive_the_stream_as_the_same_models(procurement: Chain) -> None:
    updates = _updates(procurement, "small_order", Recorder("approve"))
    stream = [
        RunEvent(id=f"{n}-0", kind="node", data=u.model_dump(mode="json"), ts=datetime.now(UTC))
        for n, u in enumerate(updates)
    ]
    stream.append(RunEvent(id="99-0", kind="status", data={"status": "succeeded"}, ts=stream[0].ts))
    assert node_updates(stream) == updates


def test_a_human_decision_and_a_caught_fault_are_events(procurement: Chain) -> None:
    updates = _updates(procurement, "small_order", Recorder("reject"), inject="ping_pong")
    faults = {(u.node, f.fault) for u in updates for f in u.of_kind(FaultApplied)}
    assert faults == {(stage_node("po_draft"), "ping_pong")}
    caught = [u.verdict for u in updates if u.verdict and u.verdict.decision == "escalate"]
    assert [v.node for v in caught if v] == [gate_node("sourcing", "po_draft")]
    reviewed = [u for u in updates if u.node.kind == "review"]
    assert reviewed, "the escalation was answered at the edge's review node"
    [human] = reviewed[-1].of_kind(HumanDecided)
    assert (human.node, human.decision.action) == (review_node("sourcing", "po_draft"), "reject")
    stopped = reviewed[-1].stopped
    assert stopped is not None
    assert stopped.status == "rejected"


def test_only_a_run_that_stops_in_the_graph_has_a_stop_event() -> None:
    assert events_of({"status": "running"}) == []
    [stop] = events_of({"status": "killed", "reason": "by ops"})
    assert stop == RunStopped(status="killed", reason="by ops")
    assert events_of({"handoffs": "not a list", "verdicts": [3]}) == []


def test_the_timeline_prints_a_handoffs_whole_payload() -> None:
    """Nothing is cut off: the field a human edit or a fork changed may be the last one."""
    note = "deliver to the loading dock at the back of the building, " * 4
    stock = {"value": 0, "version": 3, "source": "inventory", "key": "SKU-1"}
    event = HandoffProposed(
        seq=4, stage="po_draft", target="place_order", contract="PurchaseOrder",
        payload={"stock": stock, "po_number": "PO-1", "note": note}, attempt=1, by="human:a",
    )  # fmt: skip
    [_, line] = describe_event(event)
    assert line.lstrip() == f"stock=0 (v3 of inventory), po_number=PO-1, note={note}"

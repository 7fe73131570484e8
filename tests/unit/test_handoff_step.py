"""One LangGraph step per handoff: a stage's proposal and its gate's verdict are saved together,
and still read as two nodes (the stage's, the gate's) everywhere a run is shown."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from graph.chain import Chain
from graph.context import RunContext
from graph.handoff import combine, split
from graph.runtime.runner import compile_chain, initial_state, run_config, stream_updates
from tests.unit.conftest import example

STEPS = ["intake", "inventory", "sourcing", "po_draft", "place_order", "act place_order"]
NODES = [
    "intake",
    "gate intake->inventory",
    "inventory",
    "gate inventory->sourcing",
    "sourcing",
    "gate sourcing->po_draft",
    "po_draft",
    "gate po_draft->place_order",
    "place_order",
    "gate place_order->END",
    "act place_order",
]


def _graph(chain: Chain, run_id: str) -> tuple[Any, Any, Any, RunContext]:
    graph = compile_chain(chain, InMemorySaver())
    first = initial_state(chain, run_id, example("small_order"))
    ctx = RunContext(run_id=run_id, sources=chain.sources())
    return graph, first, run_config(run_id), ctx


def test_a_handoff_is_one_step_and_reads_as_its_stage_and_its_gate(procurement: Chain) -> None:
    graph, first, config, ctx = _graph(procurement, "s1")
    steps = [
        node
        for chunk in graph.stream(first, config, context=ctx, stream_mode="updates")
        for node in chunk
    ]
    assert steps == STEPS  # five handoffs, one commit: six super-steps, six checkpoints
    assert len(list(graph.get_state_history(config))) == len(STEPS) + 2  # + input, + start

    graph, first, config, ctx = _graph(procurement, "s2")
    seen = list(stream_updates(graph, first, config, ctx))
    assert [node for node, _ in seen] == NODES
    by_node = dict(seen)
    assert set(by_node["intake"]) >= {"handoffs", "decisions"}
    assert "verdicts" not in by_node["intake"]
    gate = by_node["gate intake->inventory"]
    assert [v["decision"] for v in gate["verdicts"]] == ["pass"]
    assert gate["inbox"]["inventory"]["seq"] == 1  # delivered by the gate's part of the step
    assert "handoffs" not in gate


def test_split_leaves_nodes_without_a_verdict_whole() -> None:
    refused = {"status": "failed", "reason": "budget", "steps": 1}
    assert split("intake", refused) == [("intake", refused)]
    act = {"actions": [{"name": "place_order"}], "inbox": {}}
    assert split("act place_order", act) == [("act place_order", act)]


def test_combine_applies_the_run_states_reducers_in_order() -> None:
    proposal = {"feedback": {"po_draft": []}, "usage": {"tokens": 10.0}, "steps": 1}
    verdict = {"feedback": {"po_draft": ["too dear"]}, "usage": {"tokens": 5.0}}
    both = combine(proposal, verdict)
    assert both == {"feedback": {"po_draft": ["too dear"]}, "usage": {"tokens": 15.0}, "steps": 1}
    state = {"feedback": {"po_draft": ["old"], "intake": ["x"]}, "steps": 4, "usage": {}}
    assert combine(state, both) == combine(combine(state, proposal), verdict)

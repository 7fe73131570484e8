"""Compile a chain into a LangGraph ``StateGraph`` with a gate on every edge.

A stage's node proposes its agent's output and has the gate of the edge it chose judge it, in
the same step (``graph.handoff``: one LangGraph super-step and one checkpoint per handoff; the
verdict is still the gate's own event). The verdict's route goes on to ``B`` (pass), back to
``A`` (revise; or to the stage that read a stale fact, ``refresh``), to ``review A->B``
(escalate: a human decides) or to END (block). ``gate A->B`` is also a node of its own, for
what no agent proposed: a human's edit and a fork's edited delivery. A stage with actions has
an ``act A`` node after its gates: a passed (or human-approved) proposal is committed there, a
step after its verdict was saved, and only there do actions run. The graph is returned
uncompiled: compile it where the checkpointer is opened.
"""

from __future__ import annotations

import functools
from typing import Any

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from graph.act import act_path_map, make_act_node, make_act_router
from graph.chain import Chain
from graph.context import NodeFn, RunContext
from graph.gate import gate_path_map, make_gate_node, route_gate
from graph.handoff import handoff_path_map, make_handoff_node, route_handoff
from graph.review import make_review_node, review_path_map, route_review
from graph.validate import validate_chain
from state.nodes import act_node
from state.run_state import RunState


def guarded(stage: str, node: NodeFn) -> NodeFn:
    """``node`` behind the kill and hold switches: checked as every node starts (a run stops at
    the next boundary), with the stage the node belongs to (for agent-scoped switches). A kill
    ends the run; a hold (or a worker that drains) raises :class:`Paused` before the node runs,
    so the run goes on from its last checkpoint later."""

    @functools.wraps(node)
    def run(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        stop = runtime.context.should_stop(stage)
        if stop:
            return {"status": "killed", "reason": stop}
        paused = runtime.context.should_pause(stage)
        if paused is not None:
            raise paused
        return node(state, runtime)

    return run


def build_chain_graph(chain: Chain) -> StateGraph[RunState, RunContext, RunState, RunState]:
    """Validate ``chain`` and build its (uncompiled) graph.

    Raises:
        ChainError: the chain is malformed; the message names every problem.
    """
    validate_chain(chain)
    builder: StateGraph[RunState, RunContext, RunState, RunState] = StateGraph(
        RunState, context_schema=RunContext
    )
    for stage in chain.stages:
        builder.add_node(stage.name, guarded(stage.name, make_handoff_node(chain, stage)))
    for edge in chain.edges:
        builder.add_node(edge.gate, guarded(edge.source, make_gate_node(chain, edge)))
        builder.add_node(edge.review, guarded(edge.source, make_review_node(chain, edge)))
        builder.add_conditional_edges(edge.gate, route_gate, gate_path_map(chain, edge))
        builder.add_conditional_edges(edge.review, route_review, review_path_map(chain, edge))
    for stage in chain.stages:
        if stage.actions:
            node = act_node(stage.name).name
            builder.add_node(node, guarded(stage.name, make_act_node(chain, stage)))
            builder.add_conditional_edges(node, make_act_router(stage), act_path_map(chain, stage))
    for stage in chain.stages:
        builder.add_conditional_edges(stage.name, route_handoff, handoff_path_map(chain, stage))
    builder.add_edge(START, chain.entry)
    return builder

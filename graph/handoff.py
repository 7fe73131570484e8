"""One LangGraph step per handoff: a stage proposes, and the gate of the edge it chose judges
the proposal, in the same node.

The gate is still its own evaluator with its own typed verdict (``VerdictGiven`` on the edge's
gate, in the timeline, the metrics and the traces: :func:`split` gives each part of the step
to the node it belongs to); it only no longer costs a LangGraph super-step of its own. Nothing
outside the run sees a proposal before its verdict: the step's checkpoint holds both, and an
action still runs only in the stage's ``act`` node, a step later, on the verdict as saved.

The gate of an edge stays a node of the graph for the handoffs no agent proposed: a human's
edit (``review`` -> gate) and a fork's edited delivery (applied as the producing stage, whose
router then sees a handoff without a verdict).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Hashable
from typing import Any

from langgraph.runtime import Runtime

from graph.chain import Chain, Stage
from graph.context import NodeFn, RunContext
from graph.gate import gate_path_map, make_gate_node, route_gate
from graph.stage import make_stage_node
from state.nodes import END, edge_id, gate_node
from state.run_state import TERMINAL, RunState

Reducer = Callable[[Any, Any], Any]

_STAGE_KEYS = frozenset({"steps", "facts", "faults", "handoffs", "decisions", "usage", "feedback"})
"""What the stage's part of a step writes (the rest is the verdict's)."""


@functools.cache
def _reducers() -> dict[str, Reducer]:
    """The reducer of every run-state key, as LangGraph applies them."""
    hints = typing.get_type_hints(RunState, include_extras=True)
    return {key: hint.__metadata__[0] for key, hint in hints.items()}


def combine(state: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``state`` with ``update`` applied by the run state's reducers (also how two updates of
    one step are folded into one: every reducer is associative)."""
    reducers = _reducers()
    out = dict(state)
    for key, value in update.items():
        out[key] = reducers[key](out[key], value) if key in out else value
    return out


def make_handoff_node(chain: Chain, stage: Stage[Any, Any]) -> NodeFn:
    """The node of ``stage``: its agent's proposal, judged by the gate of the edge it chose."""
    propose = make_stage_node(chain, stage)
    gates = {edge.target: make_gate_node(chain, edge) for edge in chain.out_edges(stage.name)}

    def node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        proposal = propose(state, runtime)
        if proposal.get("status") in TERMINAL or not proposal.get("handoffs"):
            return proposal  # refused by a budget: nothing to judge
        after = typing.cast(RunState, combine(dict(state), proposal))
        verdict = gates[proposal["handoffs"][-1]["target"]](after, runtime)
        return combine(proposal, verdict)

    node.__name__ = f"stage_{stage.name}"
    return node


def route_handoff(state: RunState) -> str:
    """After a stage's step: where its verdict leads (``A->B:<gate route>``), to the gate of the
    edge for a handoff without a verdict (``A->B:gate``, a fork's edit), or out when the run
    ended."""
    if state.get("status") in TERMINAL:
        return "stop"
    handoff = state["handoffs"][-1]
    edge = edge_id(handoff["stage"], handoff["target"])
    verdicts = state.get("verdicts", [])
    if not verdicts or verdicts[-1]["handoff_seq"] != handoff["seq"]:
        return f"{edge}:gate"
    return f"{edge}:{route_gate(state)}"


def handoff_path_map(chain: Chain, stage: Stage[Any, Any]) -> dict[Hashable, str]:
    """Where each route of :func:`route_handoff` leads, for ``add_conditional_edges``."""
    path: dict[Hashable, str] = {"stop": END}
    for edge in chain.out_edges(stage.name):
        path[f"{edge.id}:gate"] = edge.gate
        for route, destination in gate_path_map(chain, edge).items():
            path[f"{edge.id}:{route}"] = destination
    return path


def split(node: str, update: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(node, update)`` of a step as the nodes it was made of: the stage's proposal, then its
    gate's verdict (what the step wrote as the gate: the verdict, the delivery or the end)."""
    verdicts = update.get("verdicts")
    if not verdicts or "handoffs" not in update:
        return [(node, update)]  # a gate, review or act node; or a stage a budget refused
    verdict = verdicts[-1]
    gate = gate_node(str(verdict["source"]), str(verdict["target"])).name
    proposal = {k: v for k, v in update.items() if k in _STAGE_KEYS}
    judged = {k: v for k, v in update.items() if k not in _STAGE_KEYS}
    return [(node, proposal), (gate, judged)]

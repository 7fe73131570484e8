"""Waybill's own run state growing for as many steps as asked: the reference workflow's
records (handoffs, verdicts, decisions of a real procurement run) appended step after step
to the real ``RunState`` schema, with its reducers. Built in factories, never at import."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

from langgraph.graph import END, START, StateGraph

from agents.procurement.chain import build_chain
from graph.runtime.runner import initial_state, run_chain
from state.run_state import RunState

EXAMPLE = Path(__file__).resolve().parents[3] / "agents/procurement/examples/small_order.json"


def reference_records() -> dict[str, Any]:
    """The state a procurement small order ends with (run in memory)."""
    request = json.loads(EXAMPLE.read_text())
    return dict(run_chain(build_chain(), request).state)


def build_run_state_graph() -> StateGraph[RunState, None, RunState, RunState]:
    """``stage`` then ``gate``, over and over, until ``steps`` reaches ``request["target"]``:
    each pair appends one handoff, one decision and one verdict of a real run (numbered on),
    and rewrites the inbox, facts and counters as a run does."""
    done = reference_records()
    handoffs, verdicts, decisions = done["handoffs"], done["verdicts"], done["decisions"]

    def stage(state: RunState) -> dict[str, Any]:
        n = state["steps"]
        handoff = copy.deepcopy(handoffs[n % len(handoffs)])
        handoff["seq"] = n + 1
        return {
            "handoffs": [handoff],
            "decisions": [decisions[n % len(decisions)]],
            "inbox": {handoff["target"]: {"payload": handoff["payload"], "source": "x", "seq": n}},
            "facts": done["facts"],
            "steps": 1,
        }

    def gate(state: RunState) -> dict[str, Any]:
        n = state["steps"]
        verdict = verdicts[n % len(verdicts)]
        return {"verdicts": [verdict], "traversals": {verdict.get("edge", "e"): 1}}

    def again(state: RunState) -> str:
        return "stage" if state["steps"] < state["request"]["target"] else END

    graph: Any = StateGraph(RunState)
    graph.add_node("stage", stage)
    graph.add_node("gate", gate)
    graph.add_edge(START, "stage")
    graph.add_edge("stage", "gate")
    graph.add_conditional_edges("gate", again, {"stage": "stage", END: END})
    return cast("StateGraph[RunState, None, RunState, RunState]", graph)


def first_state(steps: int) -> RunState:
    """A fresh run state whose request says how many stage/gate pairs to run."""
    return initial_state(build_chain(), "grow", {"target": steps})

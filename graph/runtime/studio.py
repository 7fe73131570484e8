"""Every workflow as a graph for LangGraph's own Agent Server (``langgraph dev``, Studio).

``langgraph.json`` names ``graph.runtime.studio:<workflow>`` for each workflow Studio should
serve, a :class:`WorkflowGraph` below (to show a new workflow in Studio, a fork adds one line
here and one there; nothing else needs them);
the graph is built when the server first asks for it (never at import). The
graph takes ``{"request": <the entry contract as JSON>}`` and runs the chain as a subgraph with
the Agent Server's own checkpointer, so its review interrupts show on the thread — their
payloads carry Agent Inbox's ``HumanInterrupt`` keys — and it resumes from ``Command(resume=
...)`` with a Waybill decision or an Agent Inbox ``HumanResponse``. It answers with the run's
``status``, ``reason`` and ``result`` (the payload handed to END).

It is a development tool: the Agent Server has no Waybill users, roles or audit, and the run's
sources of truth live in the server's memory. Production runs go through Waybill's workers,
console and run service.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from graph.chain import Chain
from graph.compiler import build_chain_graph
from graph.context import RunContext
from graph.runtime.registry import default_registry
from graph.runtime.runner import DEFAULT_RECURSION_LIMIT, initial_state, validate_request
from state.nodes import END as CHAIN_END
from state.sources import Source


class StudioState(TypedDict, total=False):
    """A workflow's run on the Agent Server."""

    request: dict[str, Any]
    """The input: a JSON object of the entry stage's contract."""
    status: str
    """How the run ended (``succeeded``, ``failed``, ``rejected``)."""
    reason: str
    """Why it ended that way, when it did not succeed."""
    result: dict[str, Any] | None
    """The payload handed to END."""


_sources: dict[str, dict[str, Source]] = {}
"""The sources of truth of each thread, kept while the server runs (a node re-run on resume
must see the world it left)."""

_graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}


def studio_graph(chain: Chain) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``chain`` wrapped for the Agent Server (which adds its checkpointer)."""
    inner = build_chain_graph(chain).compile(name=f"{chain.name}-chain")

    def run(state: StudioState, config: RunnableConfig) -> dict[str, Any]:
        run_id = str(config.get("configurable", {}).get("thread_id") or "studio")
        sources = _sources.setdefault(run_id, chain.sources())
        ctx = RunContext(run_id=run_id, sources=sources)
        first = initial_state(chain, run_id, validate_request(chain, state.get("request")))
        final = inner.invoke(first, {"recursion_limit": DEFAULT_RECURSION_LIMIT}, context=ctx)
        ends = [h for h in final.get("handoffs", []) if h["target"] == CHAIN_END]
        return {
            "status": final.get("status", ""),
            "reason": final.get("reason", ""),
            "result": ends[-1]["payload"] if ends and final.get("status") == "succeeded" else None,
        }

    builder = StateGraph(StudioState)
    builder.add_node("run", run)
    builder.add_edge(START, "run")
    builder.add_edge("run", END)
    return builder.compile(name=chain.name)


class WorkflowGraph:
    """A graph factory the Agent Server calls for one workflow (built on first call, then kept)."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow

    def __call__(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The workflow's graph for the Agent Server."""
        if self.workflow not in _graphs:
            _graphs[self.workflow] = studio_graph(default_registry().fresh(self.workflow))
        return _graphs[self.workflow]


# The workflows Studio serves, named as in langgraph.json (the Agent Server reads the module's
# globals, so each needs its line; a workflow left out still runs everywhere else).
procurement = WorkflowGraph("procurement")
refund = WorkflowGraph("refund")
research = WorkflowGraph("research")

"""Small graphs for the checkpointer's graph-level tests (built in factories, never at import)."""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict

RECURSION_LIMIT = 50


class ApprovalInput(TypedDict):
    """Input of the approval graph."""

    value: int
    """Set by the input, doubled by ``prepare``."""


class ApprovalState(ApprovalInput):
    """State of the approval graph."""

    approved: str
    """The human's answer, written after the interrupt."""


def build_approval_graph() -> StateGraph[ApprovalState, None, ApprovalInput]:
    """prepare -> approve (interrupts, asking about ``value``) -> finish."""

    def prepare(state: ApprovalState) -> dict[str, Any]:
        return {"value": state["value"] * 2}

    def approve(state: ApprovalState) -> dict[str, Any]:
        return {"approved": interrupt({"ask": state["value"]})}

    def finish(state: ApprovalState) -> dict[str, Any]:
        return {"approved": state["approved"] + "!"}

    graph = StateGraph(ApprovalState, input_schema=ApprovalInput)
    graph.add_node("prepare", prepare)
    graph.add_node("approve", approve)
    graph.add_node("finish", finish)
    graph.add_edge(START, "prepare")
    graph.add_edge("prepare", "approve")
    graph.add_edge("approve", "finish")
    graph.add_edge("finish", END)
    return graph


class CounterState(TypedDict):
    """State of the counting loop."""

    count: int
    """Incremented once per step (the one small field that changes)."""
    target: int
    """Number of steps to run."""
    payload: str
    """A large value written once by the input and never changed."""


def build_counter_graph() -> StateGraph[CounterState]:
    """One node that increments ``count`` and loops until it reaches ``target``."""

    def tick(state: CounterState) -> dict[str, Any]:
        return {"count": state["count"] + 1}

    def again(state: CounterState) -> str:
        return "tick" if state["count"] < state["target"] else END

    graph = StateGraph(CounterState)
    graph.add_node("tick", tick)
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", again, {"tick": "tick", END: END})
    return graph


class FanOutState(TypedDict):
    """State of the ``Send`` fan-out graph."""

    items: list[int]
    """Work items; one ``Send`` each."""
    results: Annotated[list[int], operator.add]
    """Squares, appended by the workers in any order."""


def build_fanout_graph(calls: Counter[int], pause_on: int | None = None) -> StateGraph[FanOutState]:
    """Fan out one ``work`` task per item with ``Send``; ``pause_on`` interrupts that item.

    ``calls`` counts executions per item, so a test can check that on resume only the
    interrupted task runs again (the others' writes were kept as pending writes).
    """

    def split(state: FanOutState) -> list[Send]:
        return [Send("work", {"items": [i], "results": []}) for i in state["items"]]

    def work(state: FanOutState) -> dict[str, Any]:
        item = state["items"][0]
        calls[item] += 1
        if item == pause_on:
            interrupt({"item": item})
        return {"results": [item * item]}

    graph = StateGraph(FanOutState)
    graph.add_node("work", work)
    graph.add_conditional_edges(START, split, ["work"])
    graph.add_edge("work", END)
    return graph


class ParentState(TypedDict):
    """State shared by the parent graph and its subgraph."""

    text: str
    """Appended to by each node."""


def build_parent_with_subgraph() -> StateGraph[ParentState]:
    """parent: intro -> review (a subgraph: draft -> confirm, which interrupts) -> outro."""
    sub = StateGraph(ParentState)
    sub.add_node("draft", lambda s: {"text": s["text"] + " draft"})
    sub.add_node("confirm", lambda s: {"text": s["text"] + " " + interrupt("ok?")})
    sub.add_edge(START, "draft")
    sub.add_edge("draft", "confirm")
    sub.add_edge("confirm", END)

    parent = StateGraph(ParentState)
    parent.add_node("intro", lambda s: {"text": s["text"] + " intro"})
    parent.add_node("review", sub.compile())
    parent.add_node("outro", lambda s: {"text": s["text"] + " outro"})
    parent.add_edge(START, "intro")
    parent.add_edge("intro", "review")
    parent.add_edge("review", "outro")
    parent.add_edge("outro", END)
    return parent

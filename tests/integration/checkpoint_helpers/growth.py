"""Graphs whose state grows every step (chat messages, append-only logs), and a client that
counts round trips. Built in factories, never at import."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Annotated, Any

import redis
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

TEXT = "The order ships from the Lyon warehouse on Tuesday; tracking follows by mail. " * 2


class ChatState(TypedDict):
    """A conversation: one message appended per step."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The whole conversation, reduced by ``add_messages``."""
    target: int
    """Messages to reach."""


def fold_messages(state: Sequence[AnyMessage], writes: Sequence[Any]) -> list[AnyMessage]:
    """``add_messages`` over a batch of writes (batching-invariant, as ``DeltaChannel`` needs)."""
    add: Any = add_messages
    merged: list[AnyMessage] = functools.reduce(add, writes, list(state))
    return merged


class DeltaChatState(TypedDict):
    """The same conversation in a ``DeltaChannel``."""

    messages: Annotated[list[AnyMessage], DeltaChannel(fold_messages)]
    """The whole conversation, rebuilt from its writes and snapshots."""
    target: int
    """Messages to reach."""


def build_chat_graph(state: type[Any]) -> StateGraph[Any]:
    """One node appending a reply until ``target`` messages; ``state`` picks the channel."""

    def reply(s: Any) -> dict[str, Any]:
        n = len(s["messages"])
        return {"messages": [AIMessage(f"{n}: {TEXT}", id=f"m{n}")]}

    graph: Any = StateGraph(state)
    graph.add_node("reply", reply)
    graph.add_edge(START, "reply")
    graph.add_conditional_edges(
        "reply",
        lambda s: "reply" if len(s["messages"]) < s["target"] else END,
        {"reply": "reply", END: END},
    )
    return graph  # type: ignore[no-any-return]


class LedgerState(TypedDict):
    """Like Waybill's run state: append-only ``operator.add`` logs, one entry each per step."""

    handoffs: Annotated[list[dict[str, Any]], operator.add]
    """One handoff per step."""
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    """One gate verdict per step."""
    decisions: Annotated[list[dict[str, Any]], operator.add]
    """One agent decision per step."""
    steps: Annotated[int, operator.add]
    """Steps so far."""
    target: int
    """Steps to run."""


def build_ledger_graph() -> StateGraph[Any]:
    """One node appending a handoff, a verdict and a decision per step until ``target``."""

    def stage(s: Any) -> dict[str, Any]:
        n = s["steps"]
        return {
            "handoffs": [{"seq": n, "stage": "sourcing", "payload": {"sku": "A1", "qty": n}}],
            "verdicts": [{"edge": "sourcing->po", "decision": "pass", "checks": ["contract"]}],
            "decisions": [{"agent": "sourcing", "chose": f"supplier-{n % 7}", "why": TEXT}],
            "steps": 1,
        }

    graph: Any = StateGraph(LedgerState)
    graph.add_node("stage", stage)
    graph.add_edge(START, "stage")
    graph.add_conditional_edges(
        "stage",
        lambda s: "stage" if s["steps"] < s["target"] else END,
        {"stage": "stage", END: END},
    )
    return graph  # type: ignore[no-any-return]


class CountingConnection(redis.Connection):
    """Counts round trips: each time the client starts reading replies after sending."""

    round_trips = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._sent = True
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_sent", False):
            self._sent = False
            CountingConnection.round_trips += 1
        return super().read_response(*args, **kwargs)


def counting_client(url: str) -> redis.Redis:
    """A client whose connections count their round trips in ``CountingConnection``."""
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    return redis.Redis(connection_pool=pool)

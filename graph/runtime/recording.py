"""Recording a run's nodes as events while a worker executes it (on the run's session: each
event rides on the round trip of the checkpoint after it), and the events a crash left out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.context import RunContext
from graph.runtime.events import Progress, saved_updates, stream_committed
from graph.runtime.runner import Compiled
from graph.runtime.session import RunSession
from state.nodes import NodeRef
from state.run_events import NodeUpdate, node_update

Written = Callable[[str, NodeUpdate], None]
"""Told of each node's typed events as they are recorded (telemetry counts each node once)."""


def repair_events(
    graph: Compiled,
    config: RunnableConfig,
    session: RunSession,
    nodes: dict[str, NodeRef],
    evented: set[str],
    written: Written,
) -> None:
    """Append the events of saved checkpoints a worker died before writing (``evented``: the
    keys of the events already appended)."""
    for key, node, update in saved_updates(graph, config, evented.__contains__):
        _record(session, key, nodes[node], update, written)


def _record(
    session: RunSession, key: str, ref: NodeRef, update: dict[str, Any], written: Written
) -> None:
    events = node_update(ref, update)
    session.event(key, ref.stage, events.model_dump(mode="json"))
    written(session.run_id, events)


def stream_events(
    graph: Compiled,
    payload: Any,
    config: RunnableConfig,
    ctx: RunContext,
    nodes: dict[str, NodeRef],
    session: RunSession,
    progress: Progress,
    ran_from: Callable[[], str],
    written: Written,
) -> None:
    """Run the graph from ``payload`` to its next stop, with an event per committed node
    (``ran_from``: see ``stream_committed``)."""
    for key, node, update in stream_committed(
        graph, payload, config, ctx, ran_from, progress=progress
    ):
        _record(session, key, nodes[node], update, written)

"""How a run's progress is written to its event stream, and read back as a timeline.

Every node update becomes one ``node`` event carrying the update as written to the state, so
``waybill show`` and the console print exactly what the run did, from any process.

Events are keyed by where they happened (``<checkpoint the node ran from>:<node>``) and
appended once: as the run goes (right after the checkpoint that holds the update is saved), and
again, from the checkpoint history, when a run resumes — so a worker that died between a
checkpoint and its event leaves no hole in the timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.context import Paused, RunContext
from graph.handoff import split

Committed = tuple[str, str, dict[str, Any]]
"""``(event key, node, update)`` of a node whose update is in a saved checkpoint."""


def event_key(checkpoint_id: str, node: str) -> str:
    """The key of the event of ``node`` run from checkpoint ``checkpoint_id``."""
    return f"{checkpoint_id}:{node}"


@dataclass
class Progress:
    """Where a streamed run got to: its state after its last step, or the question it stopped
    at (so its outcome needs no ``get_state``)."""

    values: dict[str, Any] | None = None
    interrupt: tuple[str, Any] | None = None
    """``(interrupt id, value)`` of the first interrupt the run stopped at."""


def stream_committed(
    graph: Any,
    payload: Any,
    config: RunnableConfig,
    ctx: RunContext,
    ran_from: Callable[[], str],
    progress: Progress | None = None,
) -> Iterator[Committed]:
    """Run the graph (``durability="sync"``) and yield each node's update once the checkpoint
    holding it is saved; ``progress`` is kept up to date as the run goes.

    ``ran_from()`` names the checkpoint the nodes of the step being reported ran from: the
    parent of the checkpoint stored last (LangGraph reports a step's updates right after it
    stored the step's checkpoint), the same key ``saved_updates`` gives the node from the
    history. Under ``sync`` durability a step's checkpoint is saved before the next step
    starts, so an update is yielded when a later step reports (or the run ends, or pauses),
    never before its checkpoint.
    """
    seen = progress or Progress()
    pending: list[Committed] = []
    try:
        for mode, chunk in graph.stream(
            payload, config, context=ctx, stream_mode=["updates", "values"], durability="sync"
        ):
            if mode == "values":
                if "__interrupt__" not in chunk:
                    seen.values = chunk
                continue
            here = ran_from()
            yield from (c for c in pending if not c[0].startswith(f"{here}:"))
            pending = [c for c in pending if c[0].startswith(f"{here}:")]
            if chunk.get("__interrupt__") and seen.interrupt is None:
                first = chunk["__interrupt__"][0]
                seen.interrupt = (str(first.id), first.value)
            pending += [
                (event_key(here, name), name, part)
                for node, update in chunk.items()
                if not node.startswith("__") and isinstance(update, dict)
                for name, part in split(node, update)
            ]
    except Paused:
        # Raised as a later step began: the step before it was saved (sync durability).
        yield from pending
        raise
    yield from pending


def saved_updates(graph: Any, config: RunnableConfig, seen: Any) -> list[Committed]:
    """Node updates saved in the run's checkpoints whose events ``seen(key)`` says are missing,
    oldest first; the walk stops at the first checkpoint whose events were all written, or at
    the checkpoint a fork started from."""
    found: list[Committed] = []
    for snap in graph.get_state_history(config):
        if (snap.metadata or {}).get("source") in ("update", "fork"):
            break  # a fork starts here: what came before is the source run's history
        checkpoint_id = str(snap.config["configurable"]["checkpoint_id"])
        done = [
            (event_key(checkpoint_id, name), name, part)
            for t in snap.tasks
            if isinstance(t.result, dict) and not t.name.startswith("__")
            for name, part in split(t.name, t.result)
        ]
        missing = [c for c in done if not seen(c[0])]
        if done and not missing:
            break
        found = missing + found  # the history is newest first; a step's parts keep their order
    return found

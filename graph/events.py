"""How a run's progress is written to its event stream, and read back as a timeline.

Every node update becomes one ``node`` event carrying the update as written to the state, so
``waybill show`` and the console print exactly what the run did, from any process.
"""

from __future__ import annotations

from typing import Any

from state.control.models import RunEvent


def node_event(node: str, update: dict[str, Any]) -> dict[str, Any]:
    """The data of the event for one node's update."""
    return {"node": node, "update": update}


def updates_of(events: list[RunEvent]) -> list[tuple[str, dict[str, Any]]]:
    """``(node, update)`` pairs of ``node`` events, in order."""
    out = []
    for event in events:
        if event.kind == "node" and isinstance(event.data.get("update"), dict):
            out.append((str(event.data.get("node", "")), event.data["update"]))
    return out

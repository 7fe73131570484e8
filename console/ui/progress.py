"""Where a run stands, node by node: the colours of the workflow drawing on the run page.

Statuses are the keys of ``graph.draw.STATUS_COLOURS``: pending, running, passed, revised,
waiting, failed. They are computed from the run's ``node`` events (what actually ran), its
record (running, waiting, terminal) and its pending escalation.
"""

from __future__ import annotations

from typing import Any

from state.control.models import Escalation, RunRecord
from state.nodes import END

START_NODE, END_NODE = "__start__", "__end__"
_GATE_STATUS = {"pass": "passed", "revise": "revised", "escalate": "waiting", "block": "failed"}


def _gate_target(gate: str) -> tuple[str, str]:
    source, _, target = gate.split(" ", 1)[1].partition("->")
    return source, END if target == "END" else target


def node_status(
    updates: list[tuple[str, dict[str, Any]]],
    run: RunRecord,
    pending: Escalation | None = None,
) -> dict[str, str]:
    """Status per node name (nodes absent from the result are pending)."""
    status: dict[str, str] = {}
    for node, update in updates:
        status[START_NODE] = "passed"
        if node.startswith("gate "):
            verdicts = update.get("verdicts") or []
            decision = verdicts[-1]["decision"] if verdicts else "pass"
            status[node] = _GATE_STATUS.get(str(decision), "passed")
        elif node.startswith("act "):
            refused = update.get("status") in ("rejected", "failed") or any(
                a.get("status") != "executed" for a in update.get("actions") or []
            )
            status[node] = "revised" if refused else "passed"
        elif node.startswith("review "):
            failed = update.get("status") in ("rejected", "failed")
            status[node] = "failed" if failed else "passed"
            gate = "gate " + node.split(" ", 1)[1]
            if status.get(gate) == "waiting":
                status[gate] = "passed" if not failed else "failed"
        else:
            status[node] = "passed"
    if run.status == "running":
        _mark_running(status, updates, run)
    elif run.status == "waiting" and pending is not None:
        req = pending.request
        if pending.kind == "gate":
            target = str(req.get("target") or "")
            edge = f"{req.get('stage')}->{'END' if target in ('', END) else target}"
            status[f"review {edge}"] = "waiting"
        else:  # an action's question is asked by the stage's act node
            status[f"act {req.get('stage') or pending.stage}"] = "waiting"
    elif run.status == "succeeded":
        status[START_NODE] = status[END_NODE] = "passed"
    elif run.status in ("failed", "rejected", "killed"):
        status[END_NODE] = "failed"
        if run.status == "killed" and run.stage and status.get(run.stage) != "passed":
            status[run.stage] = "failed"
    return status


def _mark_running(
    status: dict[str, str], updates: list[tuple[str, dict[str, Any]]], run: RunRecord
) -> None:
    if not updates:
        return
    node, update = updates[-1]
    if node.startswith("gate "):
        source, target = _gate_target(node)
        verdicts = update.get("verdicts") or []
        decision = verdicts[-1]["decision"] if verdicts else "pass"
        nxt = source if decision == "revise" else target
        if nxt != END and decision in ("pass", "revise"):
            status[nxt] = "running"
    elif node.startswith("review "):
        return
    else:
        handoffs = update.get("handoffs") or []
        if handoffs:
            target = str(handoffs[-1]["target"])
            status[f"gate {node}->{'END' if target == END else target}"] = "running"

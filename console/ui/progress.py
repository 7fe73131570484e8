"""Where a run stands, node by node: the colours of the workflow drawing on the run page.

Statuses are the keys of ``graph.draw.STATUS_COLOURS``: pending, running, passed, revised,
waiting, failed. They are computed from the run's ``node`` events (what actually ran), its
record (running, waiting, terminal) and its pending escalation.
"""

from __future__ import annotations

from state.control.models import Escalation, RunRecord
from state.nodes import END, NodeRef, act_node, gate_node, review_node, stage_node
from state.run_events import ActionRecorded, HandoffProposed, NodeUpdate

START_NODE, END_NODE = "__start__", "__end__"
_GATE_STATUS = {"pass": "passed", "revise": "revised", "escalate": "waiting", "block": "failed"}


def _status_of(update: NodeUpdate, status: dict[str, str]) -> str:
    node = update.node
    if node.kind == "gate":
        verdict = update.verdict
        return _GATE_STATUS[verdict.decision] if verdict is not None else "passed"
    if node.kind == "act":
        refused = update.stopped is not None or any(
            a.record.status != "executed" for a in update.of_kind(ActionRecorded)
        )
        return "revised" if refused else "passed"
    if node.kind == "review":
        failed = update.stopped is not None
        gate = gate_node(node.stage, node.target).name
        if status.get(gate) == "waiting":
            status[gate] = "failed" if failed else "passed"
        return "failed" if failed else "passed"
    return "passed"


def node_status(
    updates: list[NodeUpdate], run: RunRecord, pending: Escalation | None = None
) -> dict[str, str]:
    """Status per node name (nodes absent from the result are pending)."""
    status: dict[str, str] = {}
    for update in updates:
        status[START_NODE] = "passed"
        status[update.node.name] = _status_of(update, status)
    if run.status == "running":
        _mark_running(status, updates)
    elif run.status == "waiting" and pending is not None:
        status[_asking(pending).name] = "waiting"
    elif run.status == "succeeded":
        status[START_NODE] = status[END_NODE] = "passed"
    elif run.status in ("failed", "rejected", "killed"):
        status[END_NODE] = "failed"
        if run.status == "killed" and run.stage and status.get(run.stage) != "passed":
            status[run.stage] = "failed"
    return status


def _asking(pending: Escalation) -> NodeRef:
    """The node that asks: an edge's review (gate escalations) or a stage's act node."""
    req = pending.request
    stage = str(req.get("stage") or pending.stage or "")
    if pending.kind == "gate":
        return review_node(stage, str(req.get("target") or END))
    return act_node(stage)


def _mark_running(status: dict[str, str], updates: list[NodeUpdate]) -> None:
    if not updates:
        return
    last = updates[-1]
    node = last.node
    verdict = last.verdict
    if node.kind == "gate" and verdict is not None:
        back = verdict.send_back_to or node.stage
        nxt = back if verdict.decision == "revise" else node.target
        if nxt != END and verdict.decision in ("pass", "revise"):
            status[stage_node(nxt).name] = "running"
    elif node.kind == "stage":
        handoffs = last.of_kind(HandoffProposed)
        if handoffs:
            status[gate_node(node.stage, handoffs[-1].target).name] = "running"

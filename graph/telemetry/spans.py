"""Span names and attributes from the typed run events (nothing here parses text).

Waybill's own attributes live under ``waybill.*``; a model call follows the OpenTelemetry GenAI
semantic conventions (``gen_ai.operation.name``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``gen_ai.agent.name``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

from state.decisions import ActionRecord, DecisionRecord
from state.run_events import (
    AgentDecided,
    FaultApplied,
    HandoffProposed,
    HumanDecided,
    NodeUpdate,
    RunStopped,
    VerdictGiven,
)

Attr = Union[str, bool, int, float, Sequence[str]]  # noqa: UP007 - a runtime alias
Attrs = dict[str, Attr]


def node_span_name(update: NodeUpdate) -> str:
    """The span of a node is named like the node (``gate intake->inventory``)."""
    return update.node.name


def node_attributes(update: NodeUpdate) -> Attrs:
    """Attributes of a node's span: the node, and what each of its events says."""
    node = update.node
    attrs: Attrs = {"waybill.node.kind": node.kind, "waybill.stage": node.stage}
    if node.target:
        attrs["waybill.edge"] = node.edge
    for handoff in update.of_kind(HandoffProposed):
        attrs |= _handoff(handoff)
    for decided in update.of_kind(AgentDecided):
        attrs |= _agent(decided.record)
    for given in update.of_kind(VerdictGiven):
        v = given.verdict
        attrs |= {
            "waybill.gate.decision": v.decision,
            "waybill.gate.mast": list(v.mast),
            "waybill.gate.failed_checks": [c.name for c in v.failed],
            "waybill.gate.score": v.score,
            "waybill.gate.reasons": list(v.reasons),
            "waybill.handoff.seq": v.handoff_seq,
        }
    for human in update.of_kind(HumanDecided):
        attrs |= {
            "waybill.human.action": human.decision.action,
            "waybill.human.user": human.decision.user,
        }
    faults = [f.fault for f in update.of_kind(FaultApplied)]
    if faults:
        attrs["waybill.faults"] = faults
    stopped = update.stopped
    if stopped is not None:
        attrs |= _stopped(stopped)
    return attrs


def _handoff(h: HandoffProposed) -> Attrs:
    attrs: Attrs = {
        "waybill.handoff.seq": h.seq,
        "waybill.handoff.target": h.target,
        "waybill.handoff.contract": h.contract,
        "waybill.handoff.attempt": h.attempt,
        "waybill.handoff.by": h.by,
    }
    if h.error:
        attrs["waybill.handoff.error"] = h.error
    return attrs


def _agent(r: DecisionRecord) -> Attrs:
    return {
        "waybill.agent": r.agent,
        "waybill.agent.chosen": r.chosen,
        "waybill.agent.confidence": r.confidence,
        "waybill.agent.tokens": r.tokens,
        "waybill.agent.cost_usd": r.cost,
        "waybill.agent.tool_calls": r.tool_calls,
    }


def _stopped(s: RunStopped) -> Attrs:
    return {"waybill.run.stopped": s.status, "waybill.run.reason": s.reason}


def model_call(record: DecisionRecord) -> tuple[str, Attrs] | None:
    """The GenAI span of the model call behind an agent's decision, if a model answered."""
    if not record.model:
        return None
    attrs: Attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": record.model,
        "gen_ai.agent.name": record.stage or record.agent,
        "gen_ai.usage.input_tokens": record.input_tokens,
        "gen_ai.usage.output_tokens": record.output_tokens,
    }
    return f"chat {record.model}", attrs


def action_span(record: ActionRecord) -> tuple[str, Attrs]:
    """The span of one action: its name, tier, outcome and idempotency key."""
    attrs: Attrs = {
        "waybill.action.name": record.action,
        "waybill.action.tier": record.tier,
        "waybill.action.status": record.status,
        "waybill.action.idempotency_key": record.idempotency_key,
        "waybill.handoff.seq": record.handoff_seq,
    }
    for key, value in (
        ("waybill.action.raised_by", record.raised_by),
        ("waybill.action.decided_by", record.decided_by),
        ("waybill.action.error", record.error),
    ):
        if value:
            attrs[key] = value
    return f"action {record.action}", attrs


def failed(update: NodeUpdate) -> str | None:
    """Why the node's span is an error (a block, a run stopped as failed), or None."""
    verdict = update.verdict
    if verdict is not None and verdict.decision == "block":
        return "; ".join(verdict.reasons) or "blocked"
    stopped = update.stopped
    if stopped is not None and stopped.status == "failed":
        return stopped.reason or "failed"
    return None


def scalar(attrs: Mapping[str, Attr]) -> dict[str, Attr]:
    """Attributes with empty lists dropped (OTel drops them anyway; tests compare cleanly)."""
    return {k: v for k, v in attrs.items() if not (isinstance(v, list) and not v)}

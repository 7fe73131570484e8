"""Readable text for what a run did: handoffs, verdicts, decisions, actions, human answers.

Used by the command line (and the console's text views). Agent text is printed as data: every
line these return has its control characters shown as escapes (``console.visible``), whatever
an agent, a payload or a person put in it.
"""

from __future__ import annotations

from typing import Any

from agents.llm.usage import usage_text
from console.visible import visible
from state.control.models import Escalation
from state.decisions import EscalationRequest
from state.run_events import (
    ActionRecorded,
    AgentDecided,
    HandoffProposed,
    HumanDecided,
    NodeUpdate,
    RunStopped,
    TimelineEvent,
    VerdictGiven,
)


def _payload_line(payload: dict[str, Any]) -> str:
    """The whole payload on one line (a fact as its value, version and source): a field cut
    short could hide the very value a gate or a human edit changed."""
    parts = []
    for key, value in payload.items():
        if isinstance(value, dict) and "version" in value and "value" in value:
            value = f"{value['value']} (v{value['version']} of {value.get('source')})"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def describe(update: NodeUpdate, *, verdicts: bool = True) -> list[str]:
    """Lines describing what one node did (``verdicts=False``: leave its verdicts out)."""
    lines: list[str] = []
    for event in update.events:
        if isinstance(event, VerdictGiven) and not verdicts:
            continue
        lines += describe_event(event)
    return lines


def describe_event(event: TimelineEvent) -> list[str]:
    """Lines describing one event."""
    return [visible(line) for line in _event_lines(event)]


def _event_lines(event: TimelineEvent) -> list[str]:
    if isinstance(event, HandoffProposed):
        arrow = "END" if event.ends_run else event.target
        return [
            f"#{event.seq:<3} {event.stage} -> {arrow}  {event.contract}"
            f"  (attempt {event.attempt}, by {event.by})",
            f"       {_payload_line(event.payload)}",
        ]
    if isinstance(event, AgentDecided):
        d = event.record
        alt = f" over {', '.join(d.alternatives)}" if d.alternatives else ""
        used = usage_text(d.tokens, d.cost)
        spent = f" ({used})" if used else ""
        return [f"       decided: {d.chosen}{alt} - {d.rationale}{spent}"]
    if isinstance(event, ActionRecorded):
        a = event.record
        raised = f", raised by {a.raised_by}" if a.raised_by else ""
        result = f" {a.result}" if a.result else ""
        again = " (done before under its key: not called again)" if a.done_before else ""
        return [f"       action {a.action} [{a.tier}{raised}]: {a.status}{again}{result}"]
    if isinstance(event, VerdictGiven):
        v = event.verdict
        mast = f" [{', '.join(v.mast)}]" if v.mast else ""
        lines = [f"     {v.node}: {v.decision.upper()}{mast} (score {v.score})"]
        return lines + [f"       x {c.name}: {c.detail}" for c in v.failed]
    if isinstance(event, HumanDecided):
        human = event.decision
        comment = f" - {human.comment}" if human.comment else ""
        return [f"     human {human.user}: {human.action.upper()} at {event.node}{comment}"]
    if isinstance(event, RunStopped):
        return [f"     run {event.status}: {event.reason}"]
    return [f"       fault {event.fault} applied to #{event.handoff_seq}"]


def describe_escalation(req: EscalationRequest) -> list[str]:
    """Lines a human reads before deciding."""
    return [visible(line) for line in _escalation_lines(req)]


def _escalation_lines(req: EscalationRequest) -> list[str]:
    lines = [f"ESCALATION ({req.kind}): {req.what}"]
    lines += [f"  why: {w}" for w in req.why]
    if req.envelope_rule:
        lines.append(f"  envelope rule: {req.envelope_rule}")
    lines.append(f"  proposed: {_payload_line(req.proposed)}")
    allowed = [f"{a} ({req.labels[a]})" if req.labels.get(a) else a for a in req.allowed]
    lines.append(f"  allowed: {', '.join(allowed)}")
    if req.group:
        many = f", {req.approvals} approvals needed" if req.approvals > 1 else ""
        eyes = "; not by whoever started the run (four eyes)" if req.four_eyes else ""
        if req.four_eyes and req.authors:
            eyes += f", nor by {', '.join(req.authors)} (edited what it acts on)"
        lines.append(f"  decided by: group {req.group}{many}{eyes}")
    deadline = req.decision_deadline
    if deadline is not None:
        then = (
            f"{deadline.then} ({deadline.backup_group})" if deadline.backup_group else deadline.then
        )
        lines.append(f"  deadline: {deadline.after_s:g}s after it was asked, then {then}")
    if req.deadline is not None:
        lines.append(f"  veto window: runs at {req.deadline:%H:%M:%S} UTC unless vetoed")
    return lines


def approval_note(esc: Escalation, user: str) -> str:
    """What an approval by ``user`` of an escalation that needs several did."""
    got, needed = len(esc.approvals), esc.approvals_needed
    head = f"approval by {user} recorded for {esc.escalation_id} ({got} of {needed})"
    d = esc.decision
    if d is not None:
        return visible(f"{head}; the decision was taken meanwhile ({d.action} by {d.user})")
    return visible(f"{head}; waiting for {needed - got} more from {esc.group or 'an approver'}")

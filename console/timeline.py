"""Readable text for what a run did: handoffs, verdicts, decisions, actions, human answers.

Used by the command line (and the console's text views). Agent text is printed as data.
"""

from __future__ import annotations

from typing import Any

from agents.llm.usage import usage_text
from state.decisions import EscalationRequest


def _payload_line(payload: dict[str, Any], width: int = 110) -> str:
    parts = []
    for key, value in payload.items():
        if isinstance(value, dict) and "version" in value and "value" in value:
            value = f"{value['value']} (v{value['version']} of {value.get('source')})"
        parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_update(node: str, update: dict[str, Any]) -> list[str]:
    """Lines describing one node's state update."""
    lines: list[str] = []
    for handoff in update.get("handoffs", []):
        arrow = "END" if handoff["target"] == "__end__" else handoff["target"]
        who = handoff["by"]
        lines.append(
            f"#{handoff['seq']:<3} {handoff['stage']} -> {arrow}  {handoff['contract']}"
            f"  (attempt {handoff['attempt']}, by {who})"
        )
        lines.append(f"       {_payload_line(handoff['payload'])}")
    for decision in update.get("decisions", []):
        alts = decision.get("alternatives") or []
        alt = f" over {', '.join(alts)}" if alts else ""
        used = usage_text(int(decision.get("tokens") or 0), float(decision.get("cost") or 0.0))
        spent = f" ({used})" if used else ""
        lines.append(f"       decided: {decision['chosen']}{alt} - {decision['rationale']}{spent}")
    for action in update.get("actions", []):
        raised = f", raised by {action['raised_by']}" if action.get("raised_by") else ""
        result = action.get("result") or {}
        lines.append(
            f"       action {action['action']} [{action['tier']}{raised}]: {action['status']}"
            + (f" {result}" if result else "")
        )
    for verdict in update.get("verdicts", []):
        mast = f" [{', '.join(verdict['mast'])}]" if verdict["mast"] else ""
        lines.append(
            f"     {verdict['gate']}: {verdict['decision'].upper()}{mast} "
            f"(score {verdict['score']})"
        )
        for check in verdict["checks"]:
            if not check["ok"]:
                lines.append(f"       x {check['name']}: {check['detail']}")
    for human in update.get("human", []):
        d = human["decision"]
        comment = f" - {d['comment']}" if d.get("comment") else ""
        lines.append(f"     human {d['user']}: {d['action'].upper()} at {human['gate']}{comment}")
    if update.get("status") in ("failed", "rejected", "killed"):
        lines.append(f"     run {update['status']}: {update.get('reason', '')}")
    return lines


def describe_escalation(req: EscalationRequest) -> list[str]:
    """Lines a human reads before deciding."""
    lines = [f"ESCALATION ({req.kind}): {req.what}"]
    lines += [f"  why: {w}" for w in req.why]
    if req.envelope_rule:
        lines.append(f"  envelope rule: {req.envelope_rule}")
    lines.append(f"  proposed: {_payload_line(req.proposed, width=400)}")
    allowed = [f"{a} ({req.labels[a]})" if req.labels.get(a) else a for a in req.allowed]
    lines.append(f"  allowed: {', '.join(allowed)}")
    return lines

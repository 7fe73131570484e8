"""Escalations as Redis stores them: the hash fields of a new one, and a record from them.

Besides the request and the decision, the hash holds who decides (``group``, ``quorum``,
``four_eyes``), the current deadline (``due_at``, ``remind_at``, ``then``, ``round`` and the
policy as JSON), whether it is ``held`` and from which group it was ``handed_over_from``.
Approvals of an escalation that needs several live in their own hash
(``wb:{<run>}:esc:<id>:approvals``: user -> ``{"at", "comment"}``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from state.control.connection import text
from state.control.models import (
    Approval,
    Decision,
    Escalation,
    EscalationDeadline,
    EscalationTerms,
    from_epoch,
    to_epoch,
)
from state.decisions import DecisionDeadline
from state.keys import run_key


def escalation_key(run_id: str, escalation_id: str) -> str:
    """The hash of one escalation."""
    return run_key(run_id, "esc", escalation_id)


def approvals_key(run_id: str, escalation_id: str) -> str:
    """The hash of an escalation's approvals (user -> JSON), when it needs several."""
    return run_key(run_id, "esc", escalation_id, "approvals")


def text_map(fields: dict[Any, Any]) -> dict[str, str]:
    """A reply hash as ``str -> str``."""
    return {text(k): text(v) for k, v in fields.items()}


def deadline_fields(
    policy: DecisionDeadline, start: datetime, *, round_no: int = 1
) -> dict[str, str]:
    """The deadline fields of a question asked at ``start`` (round 2: the backup group's)."""
    due = start + timedelta(seconds=policy.after_s)
    remind = due - timedelta(seconds=policy.reminder_s) if policy.reminder_s else None
    then = policy.then if round_no == 1 else policy.backup_then
    return {
        "due_at": repr(to_epoch(due)),
        "remind_at": repr(to_epoch(remind)) if remind else "",
        "then": then,
        "round": str(round_no),
        "deadline_policy": policy.model_dump_json(),
    }


def terms_fields(terms: EscalationTerms | None, start: datetime) -> dict[str, str]:
    """The hash fields saying who decides a new escalation, and by when."""
    if terms is None:
        return {}
    fields = {
        "group": terms.group or "",
        "quorum": str(terms.approvals_needed),
        "four_eyes": "1" if terms.four_eyes else "",
    }
    if terms.deadline is not None:
        fields |= deadline_fields(terms.deadline, start)
    return fields


def _decision(fields: dict[str, str]) -> Decision | None:
    if not fields.get("decided_by"):
        return None
    edited = fields.get("edited") or ""
    return Decision(
        action=fields["action"],
        user=fields["decided_by"],
        comment=fields.get("comment", ""),
        edited=json.loads(edited) if edited else None,
        decided_at=from_epoch(fields["decided_at"]),
    )


def _deadline(fields: dict[str, str]) -> EscalationDeadline | None:
    if not fields.get("due_at"):
        return None
    remind = fields.get("remind_at") or ""
    return EscalationDeadline(
        due_at=from_epoch(fields["due_at"]),
        remind_at=from_epoch(remind) if remind else None,
        then=fields["then"],
        policy=DecisionDeadline.model_validate_json(fields["deadline_policy"]),
        round=int(fields.get("round") or "1"),
    )


def _approvals(raw: dict[str, str]) -> list[Approval]:
    """Approvals in the order the decide script counted them (``n``)."""
    found = []
    for user, body in raw.items():
        data = json.loads(body)
        at, comment = from_epoch(data["at"]), data.get("comment", "")
        found.append((int(data.get("n", 0)), Approval(user=user, at=at, comment=comment)))
    return [approval for _, approval in sorted(found, key=lambda pair: pair[0])]


def parse(fields: dict[str, str], approvals: dict[str, str] | None = None) -> Escalation:
    """An escalation from its hash fields (and its approvals' hash)."""
    held = fields.get("held_at") or ""
    return Escalation(
        escalation_id=fields["escalation_id"],
        run_id=fields["run_id"],
        kind=fields["kind"],
        stage=fields.get("stage") or None,
        request=json.loads(fields.get("request") or "{}"),
        created_at=from_epoch(fields["created_at"]),
        version=int(fields.get("version", "1")),
        decision=_decision(fields),
        group=fields.get("group") or None,
        approvals_needed=int(fields.get("quorum") or "1"),
        four_eyes=bool(fields.get("four_eyes")),
        approvals=_approvals(approvals or {}),
        deadline=_deadline(fields),
        held_at=from_epoch(held) if held else None,
        held_reason=fields.get("held_reason", ""),
        handed_over_from=fields.get("handed_over_from") or None,
        reminded_round=int(fields.get("reminded") or "0"),
    )

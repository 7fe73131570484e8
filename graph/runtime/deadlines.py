"""What happens when a decision deadline comes: a reminder first, then the safe default.

The default is the deadline's ``then``: ``reject`` (the system rejects, as ``system:deadline``),
``hold`` (the escalation stays open and the run keeps waiting, marked held, with no more
reminders: a human can still decide it), or ``handover`` (the backup group gets it, with a
deadline of its own whose default is ``backup_then``). Never an approval. Each step applies
once per deadline round and only to an escalation still open (see
``state.control.escalation_deadlines``); each is audited and announced.
"""

from __future__ import annotations

import logging

from graph.runtime.notices import EscalationNoticeKind, escalation_notice
from graph.runtime.principal import DEADLINE, ServiceError
from graph.runtime.schedule import Scheduler
from graph.runtime.service import RunService
from state.clock import utcnow
from state.control.errors import ControlPlaneError, UnknownEscalation
from state.control.models import Escalation
from state.control.outage import log_failure

log = logging.getLogger(__name__)


def _announce(
    service: RunService, esc: Escalation, kind: EscalationNoticeKind, round_no: int, outcome: str
) -> None:
    cp = service.cp
    try:
        run = cp.runs.get(esc.run_id)
        notice = escalation_notice(
            cp,
            esc,
            run,
            kind,
            admin_fallback=service.admin_fallback,
            outcome=outcome,
            round_no=round_no,
        )
        cp.notices.publish(notice)
    except Exception as exc:
        log_failure(log, exc, "could not announce %s of escalation %s", kind, esc.escalation_id)


def remind(service: RunService, run_id: str, escalation_id: str, round_no: int) -> bool:
    """Send the round's reminder, if the escalation is still open, none was sent and the
    round's deadline has not passed yet (a reminder job that runs late, after no worker was
    up, would otherwise announce a deadline that is already over, just before its outcome)."""
    try:
        deadline = service.cp.escalations.get(escalation_id, run_id=run_id).deadline
    except UnknownEscalation:  # its run was pruned meanwhile
        return False
    if deadline is not None and deadline.round == round_no and deadline.due_at <= utcnow():
        log.info("reminder of %s skipped: its deadline passed already", escalation_id)
        return False
    if not service.cp.deadlines.claim_reminder(run_id, escalation_id, round_no):
        return False
    esc = service.cp.escalations.get(escalation_id, run_id=run_id)
    _announce(service, esc, "reminder", round_no, "")
    return True


def _reject(service: RunService, esc: Escalation) -> str | None:
    after = esc.deadline.policy.after_s if esc.deadline else 0
    try:
        service.decide(
            esc.escalation_id,
            "reject",
            who=DEADLINE,
            comment=f"no decision within {after:g}s: rejected by default",
            run_id=esc.run_id,
        )
    except (ControlPlaneError, ServiceError) as exc:  # decided first, run ended or killed
        log.info("deadline of %s: no reject (%s)", esc.escalation_id, exc)
        return None
    return "rejected by default"


def _hold(service: RunService, esc: Escalation, round_no: int) -> str | None:
    reason = "the decision deadline passed; held until someone decides"
    if service.cp.deadlines.hold(esc.run_id, esc.escalation_id, round_no, reason) != "ok":
        return None
    service.cp.audit.append(
        DEADLINE.name, "escalation.hold", esc.run_id, {"escalation_id": esc.escalation_id}
    )
    return "held: the run keeps waiting for a decision (no more reminders)"


def _hand_over(
    service: RunService, esc: Escalation, round_no: int, schedule: Scheduler
) -> str | None:
    assert esc.deadline is not None
    policy = esc.deadline.policy
    cp = service.cp
    if cp.deadlines.hand_over(esc.run_id, esc.escalation_id, round_no, policy) != "ok":
        return None
    details = {"escalation_id": esc.escalation_id, "from": esc.group, "to": policy.backup_group}
    cp.audit.append(DEADLINE.name, "escalation.handover", esc.run_id, details)
    moved = cp.escalations.get(esc.escalation_id, run_id=esc.run_id)
    if moved.deadline is not None:
        new = moved.deadline
        if new.remind_at is not None:
            schedule.reminder(esc.run_id, esc.escalation_id, new.round, new.remind_at)
        schedule.deadline(esc.run_id, esc.escalation_id, new.round, new.due_at)
    return f"handed over to group {policy.backup_group}"


def deadline_passed(
    service: RunService, run_id: str, escalation_id: str, round_no: int, schedule: Scheduler
) -> str | None:
    """Apply the deadline's default; returns what it did, or None when nothing was due."""
    esc = service.cp.escalations.get(escalation_id, run_id=run_id)
    deadline = esc.deadline
    if esc.decision is not None or deadline is None or deadline.round != round_no:
        return None
    if esc.held_at is not None:
        return None
    if deadline.then == "reject":
        outcome = _reject(service, esc)
    elif deadline.then == "hold":
        outcome = _hold(service, esc, round_no)
    else:
        outcome = _hand_over(service, esc, round_no, schedule)
    if outcome is not None:
        latest = service.cp.escalations.get(escalation_id, run_id=run_id)
        _announce(service, latest, "deadline_passed", round_no, outcome)
    return outcome

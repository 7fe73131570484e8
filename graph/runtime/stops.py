"""Where an execution of a run stops, as the control plane records it: waiting for a human,
finished (or failed with what it was about to do), and the answer a human gave, read before a
run resumes."""

from __future__ import annotations

import logging
from typing import Any, cast

from graph.runtime.events import Progress
from graph.runtime.notices import escalation_notice
from graph.runtime.runner import RunOutcome, resume_command
from graph.runtime.schedule import Scheduler
from graph.runtime.session import RunSession
from state.control.errors import UnknownEscalation
from state.control.models import Escalation, EscalationTerms
from state.control.outage import log_failure
from state.control.plane import ControlPlane
from state.decisions import Decision, EscalationRequest
from state.run_state import RunState
from state.settings import get_settings
from state.status import TERMINAL_STATUSES

log = logging.getLogger(__name__)

ScheduleVeto = Scheduler
"""Schedules a waiting run's timers: its veto window, its decision reminder and deadline."""


def escalation_id(run_id: str, interrupt_id: str) -> str:
    """Escalation ids are global: the run id makes an interrupt's id unique across runs."""
    return f"{run_id}.{interrupt_id}"


def outcome_from(run_id: str, progress: Progress) -> RunOutcome | None:
    """Where a streamed run stands, from what the stream showed (``None``: it showed nothing)."""
    if progress.interrupt is not None:
        interrupt_id, value = progress.interrupt
        return RunOutcome(
            run_id=run_id,
            status="waiting",
            state=cast(RunState, progress.values or {}),
            pending=EscalationRequest.model_validate(value),
            interrupt_id=interrupt_id,
        )
    if progress.values is None:
        return None
    values = cast(RunState, progress.values)
    return RunOutcome(run_id=run_id, status=values.get("status", "running"), state=values)


def wait_for_human(
    cp: ControlPlane, session: RunSession, outcome: RunOutcome, schedule_veto: ScheduleVeto | None
) -> str:
    """Record the run's pending question as an escalation and the run as ``waiting``."""
    assert outcome.pending is not None
    assert outcome.interrupt_id is not None
    run_id, req = session.run_id, outcome.pending
    esc = cp.escalations.create(
        run_id,
        req.kind if req.tier != "notify" else "veto",
        {**req.model_dump(mode="json"), "interrupt_id": outcome.interrupt_id},
        stage=req.stage,
        escalation_id=escalation_id(run_id, outcome.interrupt_id),
        terms=terms_of(req),
    )
    session.update(status="waiting", stage=req.stage, release=True)
    if schedule_veto is not None:
        schedule_timers(esc, req, schedule_veto)
    announce(cp, esc)
    return "waiting"


def terms_of(req: EscalationRequest) -> EscalationTerms:
    """Who decides the question a run asks, and by when."""
    return EscalationTerms(
        group=req.group or None,
        approvals_needed=req.approvals,
        four_eyes=req.four_eyes,
        deadline=req.decision_deadline,
    )


def schedule_timers(esc: Escalation, req: EscalationRequest, schedule: Scheduler) -> None:
    """Schedule the escalation's veto window, or its current reminder and deadline.

    Scheduling the same timer again replaces it (stable job ids), so a run that is executed
    again while it waits does not add timers.
    """
    if req.tier == "notify" and req.deadline is not None:
        schedule.veto_window(esc.run_id, esc.escalation_id, req.deadline)
    deadline = esc.deadline
    if deadline is None or esc.held_at is not None:
        return
    if deadline.remind_at is not None and esc.reminded_round < deadline.round:
        schedule.reminder(esc.run_id, esc.escalation_id, deadline.round, deadline.remind_at)
    schedule.deadline(esc.run_id, esc.escalation_id, deadline.round, deadline.due_at)


def announce(cp: ControlPlane, esc: Escalation) -> None:
    """Publish the notice that ``esc`` waits for a decision (once; never fails the run)."""
    try:
        run = cp.runs.get(esc.run_id)
        fallback = get_settings().admin_fallback
        cp.notices.publish(
            escalation_notice(cp, esc, run, "escalation_created", admin_fallback=fallback)
        )
    except Exception as exc:
        msg = "run %s: could not announce escalation %s"
        log_failure(log, exc, msg, esc.run_id, esc.escalation_id)


def settle(
    cp: ControlPlane,
    session: RunSession,
    outcome: RunOutcome,
    next_nodes: list[str],
    schedule_veto: ScheduleVeto | None,
) -> str:
    """Record where the run stands after the graph stopped: waiting, or its end."""
    if outcome.pending is not None:
        return wait_for_human(cp, session, outcome, schedule_veto)
    if outcome.status in TERMINAL_STATUSES:
        status, reason = outcome.status, outcome.state.get("reason", "") or ""
    else:
        # The graph stopped with no outcome and no question for a human: never a success.
        nxt = ", ".join(next_nodes) or "nothing"
        status = "failed"
        reason = f"the run stopped without an outcome (status {outcome.status}, next: {nxt})"
        log.error("run %s: %s", session.run_id, reason)
    record = session.update(status=status, reason=reason, release=True)
    cp.notices.run_ended(record)  # failed or killed: announced (never raises)
    return status


def decision_command(cp: ControlPlane, run_id: str, interrupt_id: str) -> Any:
    """The resume command for the run's pending question, or None while undecided."""
    try:
        esc = cp.escalations.get(escalation_id(run_id, interrupt_id), run_id=run_id)
    except UnknownEscalation:
        return None
    if esc.decision is None:
        return None
    d = esc.decision
    # An approval of M: the decision is theirs together (each one is in the audit log).
    approvers = [a.user for a in esc.approvals] if d.action == "approve" else []
    user = ", ".join(approvers) if len(approvers) > 1 else d.user
    decision = Decision(action=d.action, user=user, comment=d.comment or "", edited=d.edited)
    waited = max(0.0, (d.decided_at - esc.created_at).total_seconds())
    return resume_command(interrupt_id, decision, waited_s=waited)

"""Where an execution of a run stops, as the control plane records it: waiting for a human,
finished (or failed with what it was about to do), and the answer a human gave, read before a
run resumes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from graph.runtime.events import Progress
from graph.runtime.runner import RunOutcome, resume_command
from graph.runtime.session import RunSession
from state.control.errors import UnknownEscalation
from state.control.plane import ControlPlane
from state.decisions import Decision, EscalationRequest
from state.run_state import RunState
from state.status import TERMINAL_STATUSES

log = logging.getLogger(__name__)

ScheduleVeto = Callable[[str, str, datetime], None]
"""Schedules the end of a notify-tier veto window: ``(run id, escalation id, when)``."""


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
    esc_id = escalation_id(run_id, outcome.interrupt_id)
    cp.escalations.create(
        run_id,
        req.kind if req.tier != "notify" else "veto",
        {**req.model_dump(mode="json"), "interrupt_id": outcome.interrupt_id},
        stage=req.stage,
        escalation_id=esc_id,
    )
    session.update(status="waiting", stage=req.stage, release=True)
    if req.tier == "notify" and req.deadline is not None and schedule_veto is not None:
        schedule_veto(run_id, esc_id, req.deadline)
    return "waiting"


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
    session.update(status=status, reason=reason, release=True)
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
    decision = Decision(action=d.action, user=d.user, comment=d.comment or "", edited=d.edited)
    return resume_command(interrupt_id, decision)

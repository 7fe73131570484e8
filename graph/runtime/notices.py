"""The notices the runtime writes: an escalation opened, a reminder, a deadline passed, a kill
switch tripped or cleared (a run that failed or was killed is the control plane's own notice).

Built from the control plane's records (the escalation, its run, the switch), with who may
decide and a link to the exact escalation or run. Each notice's id is stable per event, so a
retried job writes it once. Writing one never fails a run (``NoticeStore.publish``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from graph.runtime.eligibility import who_may_decide
from state.clock import utcnow
from state.control.models import Escalation, KillScope, RunRecord, to_epoch
from state.control.plane import ControlPlane
from state.links import KILLS_URL, escalation_url, run_url
from state.notices import Notice, NoticeKind

EscalationNoticeKind = Literal["escalation_created", "reminder", "deadline_passed"]


def _when(ts: datetime) -> str:
    return f"{ts:%Y-%m-%d %H:%M:%S} UTC"


def _lines(esc: Escalation) -> list[str]:
    req = esc.request
    lines = [f"what: {req.get('what', '')}"]
    lines += [f"why: {why}" for why in req.get("why") or []]
    if esc.approvals_needed > 1:
        done = ", ".join(a.user for a in esc.approvals) or "none yet"
        lines.append(f"approvals: {esc.approvals_needed} needed (so far: {done})")
    if esc.deadline is not None:
        lines.append(f"deadline: {_when(esc.deadline.due_at)}, then: {esc.deadline.then}")
    if req.get("deadline"):
        lines.append(f"runs unless vetoed by: {req['deadline']}")
    return lines


def _title(kind: EscalationNoticeKind, esc: Escalation, run: RunRecord, outcome: str) -> str:
    where = f"run {esc.run_id} of {run.workflow}"
    group = f"group {esc.group}" if esc.group else "an approver"
    if kind == "escalation_created":
        ask = "may veto" if esc.kind == "veto" else "must decide"
        return f"Escalation on {where}: {group} {ask}"
    if kind == "reminder":
        due = esc.deadline.due_at if esc.deadline else utcnow()
        return f"Reminder: escalation on {where} waits for {group} (deadline {_when(due)})"
    return f"Deadline passed on {where}: {outcome}"


def escalation_notice(
    cp: ControlPlane,
    esc: Escalation,
    run: RunRecord,
    kind: EscalationNoticeKind,
    *,
    admin_fallback: bool,
    outcome: str = "",
    round_no: int = 1,
) -> Notice:
    """A notice about ``esc``: opened, a reminder of deadline round ``round_no``, or that
    round's ``outcome`` when its deadline passed."""
    events = {"escalation_created": "created", "reminder": f"remind:{round_no}"}
    event = events.get(kind, f"deadline:{round_no}")
    due = esc.deadline.due_at if esc.deadline else None
    veto_end = esc.request.get("deadline")
    return Notice(
        id=f"esc:{esc.escalation_id}:{event}",
        kind=kind,
        at=utcnow(),
        title=_title(kind, esc, run, outcome),
        lines=_lines(esc),
        link=escalation_url(esc.escalation_id),
        run_id=esc.run_id,
        escalation_id=esc.escalation_id,
        workflow=run.workflow,
        stage=esc.stage,
        deciders=who_may_decide(cp, esc, starter=run.user, admin_fallback=admin_fallback),
        due_at=due if due is not None else (datetime.fromisoformat(veto_end) if veto_end else None),
        outcome=outcome or None,
    )


def kill_notice(
    scope: KillScope,
    target: str | None,
    *,
    user: str,
    reason: str,
    tripped: bool,
    at: datetime | None = None,
    hold: bool = False,
) -> Notice:
    """A kill switch was tripped (with its reason) or cleared; with ``hold``, a hold switch
    was tripped or released."""
    label = f"{scope}:{target or '*'}"
    when = at or utcnow()
    kind: NoticeKind
    if hold:
        verb, kind = ("tripped", "hold_tripped") if tripped else ("released", "hold_released")
    else:
        verb, kind = ("tripped", "kill_tripped") if tripped else ("cleared", "kill_cleared")
    return Notice(
        id=f"{'hold' if hold else 'kill'}:{label}:{verb}:{to_epoch(when):.6f}",
        kind=kind,
        at=when,
        title=f"{'Hold' if hold else 'Kill'} switch {label} {verb} by {user}",
        lines=[f"reason: {reason}"] if reason else [],
        link=run_url(target) if scope == "run" and target else KILLS_URL,
        run_id=target if scope == "run" else None,
        workflow=target if scope == "workflow" else None,
    )

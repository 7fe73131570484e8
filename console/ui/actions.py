"""Every change the console makes, checked against the user's role *here*, on the server.

Pages call these functions, never the control plane's writers or node code. Each one checks the
role first (a refused attempt is written to the audit log as ``denied`` and nothing else
happens), then calls the run service, which checks again and audits the action itself. Errors a
user can act on come back as an :class:`Outcome` with a one-line message; Redis outages
propagate to the page's banner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.timeline import approval_note
from console.ui.handles import Handles
from graph.runtime.deciding import decides
from graph.runtime.principal import EditInvalid, Forbidden, Principal, ServiceError
from graph.runtime.registry import UnknownWorkflowError
from graph.runtime.runner import InputError
from state.control.errors import (
    DuplicateApproval,
    EscalationConflict,
    EscalationMoved,
    InvalidTransition,
    RunFinished,
    UnknownEscalation,
    UnknownRun,
)
from state.control.models import KillScope, SwitchKind
from state.control.users import UserError
from state.roles import Role
from state.roles import Role as UserRole


@dataclass(frozen=True)
class Outcome:
    """What happened, for the page to show (``message`` is plain text, one line)."""

    ok: bool
    message: str
    field_errors: dict[str, str] = field(default_factory=dict)
    winner: str | None = None
    """Who decided first, when a decision lost the race."""
    value: Any = None


def require(h: Handles, who: Principal, role: Role, action: str, target: str) -> None:
    """Refuse (and audit) unless ``who`` has at least ``role``."""
    if not who.can(role):
        h.cp.audit.append(
            who.name, "denied", target, {"attempted": action, "role": who.role, "via": "console"}
        )
        raise Forbidden(f"{who.name} ({who.role}) may not {action}: it needs the {role} role")


def decide(
    h: Handles,
    who: Principal,
    escalation_id: str,
    action: str,
    *,
    comment: str = "",
    edited: dict[str, Any] | None = None,
) -> Outcome:
    """Approve, edit or reject an escalation (approvers and admins)."""
    try:
        require(h, who, "approver", f"{action} an escalation", escalation_id)
        esc = h.service.decide(escalation_id, action, who=who, comment=comment, edited=edited)
    except (Forbidden, DuplicateApproval, EscalationMoved) as exc:
        return Outcome(False, str(exc))
    except EscalationConflict as exc:
        return Outcome(
            False,
            f"Too late: {exc.decided_by} already decided this escalation ({exc.action}) at "
            f"{exc.decided_at}. Your decision was not recorded.",
            winner=exc.decided_by,
        )
    except UnknownEscalation:
        return Outcome(False, "This escalation no longer exists; nothing was decided.")
    except RunFinished as exc:
        return Outcome(False, f"The run is already {exc.status}; nothing was decided.")
    except EditInvalid as exc:
        return Outcome(
            False,
            f"The edit is not a valid {exc.contract}; nothing was decided or resumed.",
            field_errors=dict(exc.errors),
        )
    except ServiceError as exc:
        return Outcome(False, str(exc))
    if not decides(esc, who.name):
        return Outcome(True, approval_note(esc, who.name).capitalize() + ".", value=esc)
    said = "veto" if esc.kind == "veto" and action == "reject" else action
    return Outcome(True, f"{said} recorded; the run resumes on a worker.", value=esc)


def trip(
    h: Handles,
    who: Principal,
    kind: SwitchKind,
    scope: KillScope,
    target: str | None,
    *,
    reason: str,
    confirmed: bool,
) -> Outcome:
    """Trip a kill or hold switch (admins), only once the user confirmed it."""
    label = f"{scope}:{target or '*'}"
    try:
        require(h, who, "admin", f"trip a {kind} switch", label)
        if not confirmed:
            return Outcome(False, "Tick the confirmation first: nothing was tripped.")
        if scope != "global" and not (target or "").strip():
            return Outcome(False, f"A {scope} {kind} switch needs a target.")
        if kind == "hold":
            held = h.service.hold(scope, target, who=who, reason=reason)
            what = f"{held} queued run(s) held, running ones stop at their next boundary (held, "
            what += "not ended: release the switch to let them go on)"
        else:
            idle = h.service.kill(scope, target, who=who, reason=reason)
            what = f"{idle} idle run(s) marked killed, running ones stop at their next boundary"
    except (ServiceError, UnknownRun, ValueError) as exc:
        return Outcome(False, str(exc))
    return Outcome(True, f"{kind.capitalize()} switch {label} tripped; {what}.")


def clear(
    h: Handles,
    who: Principal,
    kind: SwitchKind,
    scope: KillScope,
    target: str | None,
    *,
    confirmed: bool,
) -> Outcome:
    """Clear a kill switch (killed runs stay killed) or release a hold switch (the runs it
    held go on from their last checkpoint); admins."""
    label = f"{scope}:{target or '*'}"
    verb, done = ("release", "released") if kind == "hold" else ("clear", "cleared")
    try:
        require(h, who, "admin", f"{verb} a {kind} switch", label)
        if not confirmed:
            return Outcome(False, f"Tick the confirmation first: nothing was {done}.")
        target = None if scope == "global" else target
        if kind == "hold":
            cleared, queued = h.service.release(scope, target, who=who)
            after = f"; {queued} held run(s) go on."
        else:
            cleared, after = h.service.unkill(scope, target, who=who), "."
    except (ServiceError, ValueError) as exc:
        return Outcome(False, str(exc))
    state = done if cleared else "was not set"
    return Outcome(True, f"{kind.capitalize()} switch {label} {state}{after}")


def submit(
    h: Handles, who: Principal, workflow: str, request: Any, *, inject: str | None = None
) -> Outcome:
    """Start a run (approvers and admins)."""
    try:
        require(h, who, "approver", "start a run", workflow)
        record = h.service.submit(workflow, request, who=who, inject=inject or None)
    except (ServiceError, InputError, UnknownWorkflowError) as exc:
        return Outcome(False, str(exc))
    return Outcome(True, f"Run {record.run_id} queued.", value=record)


def fork(
    h: Handles,
    who: Principal,
    run_id: str,
    checkpoint_id: str,
    *,
    sets: dict[str, Any] | None = None,
) -> Outcome:
    """Start a new run from a checkpoint of ``run_id`` (approvers and admins)."""
    try:
        require(h, who, "approver", "fork a run", run_id)
        record = h.service.fork(run_id, checkpoint_id, who=who, sets=sets)
    except (ServiceError, UnknownRun, InvalidTransition) as exc:
        return Outcome(False, str(exc))
    return Outcome(True, f"Forked as run {record.run_id}.", value=record)


def add_user(
    h: Handles, who: Principal, name: str, role: UserRole, password: str, email: str | None
) -> Outcome:
    """Add a console user (admins)."""
    try:
        require(h, who, "admin", "add a user", name)
        user = h.users.add(name.strip(), role, password, email=email or None)
    except (Forbidden, UserError) as exc:
        return Outcome(False, str(exc))
    h.cp.audit.append(who.name, "user.add", user.name, {"role": role, "email": user.email})
    return Outcome(True, f"User {user.name} added ({role}).")


def set_role(h: Handles, who: Principal, name: str, role: UserRole) -> Outcome:
    """Change a user's role (admins)."""
    try:
        require(h, who, "admin", "change a role", name)
        before = h.users.get(name)
        user = h.users.set_role(name, role)
    except (Forbidden, UserError) as exc:
        return Outcome(False, str(exc))
    h.cp.audit.append(
        who.name, "user.role", user.name, {"from": before.role if before else None, "to": role}
    )
    return Outcome(True, f"{user.name} is now {role}.")


def set_membership(h: Handles, who: Principal, name: str, group: str, *, member: bool) -> Outcome:
    """Add a user to an approver group, or remove them from it (admins; audited)."""
    verb = "join" if member else "leave"
    try:
        require(h, who, "admin", f"change group {group}", name)
        if member:
            h.cp.groups.join(name, group.strip())
        else:
            h.cp.groups.leave(name, group.strip())
    except (Forbidden, UserError) as exc:
        return Outcome(False, str(exc))
    h.cp.audit.append(who.name, f"group.{verb}", name, {"group": group.strip(), "via": "console"})
    said = "is now in" if member else "left"
    return Outcome(True, f"{name} {said} group {group.strip()}.")

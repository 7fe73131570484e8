"""Who may decide an escalation: its group, four eyes, the admin fallback, the system.

An escalation names the approver group that decides it (the stage's owner, or the envelope
rule's group). A member of that group with the approver role (or admin) decides; an admin
outside it only when the admin fallback is on (``WAYBILL_ADMIN_FALLBACK``), and the audit log
says so. Under four eyes the run's starter may not approve, nor anyone who edited what the
action acts on (rejecting is always allowed: it is the safe side). The system (a veto window
that ended, a deadline that passed) is in no group and may approve nothing but a notify-tier
action it was announced for.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from graph.runtime.principal import FourEyes, NotInGroup, Principal, ServiceError
from state.control.models import Escalation
from state.control.plane import ControlPlane
from state.control.users import user_key
from state.notices import Deciders
from state.roles import ROLE_RANK, ROLES, Role

Authority = Literal["member", "admin fallback", "system", "any approver"]
"""On what grounds a decision was allowed (kept in the audit log)."""


def _subject(esc: Escalation) -> str:
    what = "action" if esc.kind == "action" else "handoff"
    return f"the {what} of stage '{esc.stage or esc.request.get('stage') or '?'}'"


def authority(
    cp: ControlPlane,
    esc: Escalation,
    who: Principal,
    action: str,
    *,
    starter: str | None,
    admin_fallback: bool,
    groups: Collection[str] | None = None,
) -> Authority:
    """Why ``who`` may take ``action`` on ``esc`` (``groups``: the groups ``who`` is in, when
    the caller has them already, e.g. a page showing many escalations; else asked of Redis).

    Raises:
        FourEyes: The run's starter, or an editor of what it acts on, approving an action that
            needs four eyes.
        NotInGroup: ``who`` is not in the escalation's group (and no fallback applies).
        ServiceError: The system approving anything but an announced notify-tier action.
    """
    if who.system:
        if action == "approve" and esc.kind != "veto":
            raise ServiceError(
                f"{who.name} may not approve escalation {esc.escalation_id}: only people "
                "approve an approve-tier action"
            )
        return "system"
    if esc.four_eyes and action == "approve" and who.name in (starter, *esc.authors):
        others = f"another member of {esc.group}" if esc.group else "another approver"
        did = "started run" if who.name == starter else "edited what it acts on in run"
        raise FourEyes(
            f"four eyes: {who.name} {did} {esc.run_id} and may not approve "
            f"{_subject(esc)}; {others} must"
        )
    if esc.group is None:
        return "any approver"
    if esc.group in groups if groups is not None else cp.groups.is_member(who.name, esc.group):
        return "member"
    if admin_fallback and who.role == "admin":
        return "admin fallback"
    raise NotInGroup(
        f"{who.name} is not in group {esc.group!r}, which decides escalation "
        f"{esc.escalation_id}: nothing was decided"
    )


def roles_of(cp: ControlPlane, names: list[str]) -> dict[str, Role]:
    """The current role of each named user (users that no longer exist are left out)."""
    pipe = cp.client.pipeline(transaction=False)
    for name in names:
        pipe.hget(user_key(name), "role")
    found: dict[str, Role] = {}
    for name, role in zip(names, pipe.execute() if names else [], strict=True):
        for known in ROLES:
            if role == known:
                found[name] = known
    return found


def group_deciders(cp: ControlPlane, group: str) -> list[str]:
    """The members of ``group`` who may decide its escalations (approver role or above)."""
    members = cp.groups.members(group)
    roles = roles_of(cp, members)
    return [m for m in members if m in roles and ROLE_RANK[roles[m]] >= ROLE_RANK["approver"]]


def who_may_decide(
    cp: ControlPlane, esc: Escalation, *, starter: str | None, admin_fallback: bool
) -> Deciders:
    """The people who may decide ``esc`` now, for a notification or the inbox."""
    able = group_deciders(cp, esc.group) if esc.group else []
    done = [a.user for a in esc.approvals]
    excluded = [m for m in able if esc.four_eyes and m in (starter, *esc.authors)]
    return Deciders(
        group=esc.group,
        users=[m for m in able if m not in excluded and m not in done],
        excluded=excluded,
        admins_fallback=admin_fallback and esc.group is not None,
        approvals_needed=esc.approvals_needed,
        approved_by=done,
    )

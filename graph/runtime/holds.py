"""Hold switches: stop runs at their next boundary without ending them, and let them go on.

A hold is tripped at the same scopes as a kill (global, workflow, agent, run). A run it covers
stops before its next node, keeps its last checkpoint, and is recorded ``held``; a queued run
is marked held at once. A waiting run keeps waiting (its escalation may still be decided) and
is held when it resumes. Releasing a hold queues every held run no other hold still covers: it
goes on from its checkpoint, as if nothing happened. Both are admin actions, audited.
"""

from __future__ import annotations

from collections.abc import Iterator

from graph.runtime.principal import NothingToStop, Principal, UnknownTarget
from graph.runtime.registry import Registry
from state.control.errors import InvalidTransition, RunFinished, UnknownRun
from state.control.models import KillScope, KillSwitch, RunRecord, SwitchKind
from state.control.plane import ControlPlane
from state.status import TERMINAL_STATUSES, RunStatus


def _covers(scope: KillScope, target: str | None, record: RunRecord) -> bool:
    """Whether a switch at ``scope``/``target`` covers the run now (an agent: where it is)."""
    if scope == "global":
        return True
    if scope == "workflow":
        return record.workflow == target
    if scope == "agent":
        return record.stage == target
    return record.run_id == target


def hold_on(cp: ControlPlane, record: RunRecord) -> KillSwitch | None:
    """The first hold switch that covers the run now, if any (a waiting run it covers is held
    as it resumes)."""
    return next((h for h in cp.kills.list("hold") if _covers(h.scope, h.target, record)), None)


def runs_with(cp: ControlPlane, status: RunStatus, workflow: str | None) -> Iterator[RunRecord]:
    """Every run listed under ``status`` (of ``workflow``), a page at a time."""
    offset = 0
    while True:
        page = cp.runs.list(status=status, workflow=workflow, offset=offset, limit=200)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _listed(
    cp: ControlPlane, scope: KillScope, target: str | None, status: RunStatus
) -> list[RunRecord]:
    if scope == "run":
        try:
            record = cp.runs.get(target or "")
        except UnknownRun:  # a hold on a run deleted since (retention): it holds nothing
            return []
        return [record] if record.status == status else []
    workflow = target if scope == "workflow" else None
    return [r for r in runs_with(cp, status, workflow) if _covers(scope, target, r)]


def _unknown(cp: ControlPlane, registry: Registry, scope: KillScope, target: str | None) -> str:
    """Why ``target`` names nothing, listing the known ones ("" for a run that exists, finished or
    not, a workflow registered or ever run, a stage of a registered workflow, and ``global``)."""
    if scope == "run":
        try:
            cp.runs.get(target or "")
        except UnknownRun as exc:
            return str(exc)
    elif scope == "workflow":
        known = sorted({*registry.names(), *registry.broken(), *cp.runs.workflows()})
        if target not in known:
            return f"unknown workflow '{target}' (known: {', '.join(known) or 'none'})"
    elif scope == "agent":
        stages = sorted({s.name for w in registry.names() for s in registry.get(w).stages})
        if target not in stages:
            return f"no workflow has a stage '{target}' (stages: {', '.join(stages) or 'none'})"
    return ""


def check_target(
    cp: ControlPlane, registry: Registry, scope: KillScope, target: str | None
) -> None:
    """Refuse a switch that would stop nothing: a run never started or already over, a workflow
    neither registered nor ever run, a stage of no registered workflow.

    Raises:
        UnknownRun: ``scope`` is ``run`` and no such run exists.
        NothingToStop: the run is over, or the workflow or stage is unknown (the message lists
            the known ones).
    """
    if scope == "run":
        status = cp.runs.get(target or "").status
        if status in TERMINAL_STATUSES:
            raise NothingToStop(f"run {target} is already {status}: there is nothing to stop")
        return
    unknown = _unknown(cp, registry, scope, target)
    if unknown:
        raise NothingToStop(f"{unknown}: the switch would stop nothing")


def check_clearable(
    cp: ControlPlane, registry: Registry, kind: SwitchKind, scope: KillScope, target: str | None
) -> None:
    """Refuse to clear a switch that is not set on a target that does not exist: a typo, which
    would otherwise read as "was not set" and leave the real switch in place. A switch that is
    set is always cleared (its run may be pruned, its workflow retired since); one not set on a
    target that exists is not an error (clearing is idempotent).

    Raises:
        UnknownTarget: no such run, workflow or stage (the message lists the known ones).
    """
    shown = "*" if scope == "global" else target
    if any((s.scope, s.target) == (scope, shown) for s in cp.kills.list(kind)):
        return
    unknown = _unknown(cp, registry, scope, target)
    if unknown:
        raise UnknownTarget(f"{unknown}: no {kind} switch is set on it, nothing was cleared")


def switch_label(scope: KillScope, target: str | None) -> str:
    """``scope:target`` as shown and audited (``global:*``)."""
    return f"{scope}:{target or '*'}"


def trip_hold(
    cp: ControlPlane, scope: KillScope, target: str | None, *, who: Principal, reason: str
) -> tuple[KillSwitch, int]:
    """Trip a hold switch (the caller checked the role); queued runs it covers are held at
    once. Returns the switch and how many queued runs were held."""
    switch = cp.kills.trip(scope, target, reason=reason, user=who.name, kind="hold")
    why = f"hold switch {switch_label(scope, target)} by {who.name}: {reason}"
    held = 0
    for record in _listed(cp, scope, target, "queued"):
        try:
            cp.runs.update(record.run_id, status="held", reason=why)
            held += 1
        except (RunFinished, InvalidTransition):
            continue  # it started or ended meanwhile: the worker holds it at its next node
    return switch, held


def release_hold(
    cp: ControlPlane, scope: KillScope, target: str | None, *, who: Principal
) -> tuple[bool, list[str]]:
    """Clear a hold switch (the caller checked the role) and queue the held runs no other hold
    covers. Returns whether it was set, and the ids of the runs to dispatch again."""
    cleared = cp.kills.clear(scope, target, kind="hold")
    released: list[str] = []
    for record in _listed(cp, scope, target, "held"):
        still = cp.kills.check(
            run_id=record.run_id, workflow=record.workflow, agent=record.stage, kind="hold"
        )
        if still is not None:
            continue
        try:
            cp.runs.update(record.run_id, status="queued", reason=f"hold released by {who.name}")
        except (RunFinished, InvalidTransition):
            continue
        released.append(record.run_id)
    return cleared, released

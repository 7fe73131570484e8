"""The operations humans (and the CLI) perform on runs: start, decide, veto, kill, clear.

The console and the command line call this module; it checks the caller's role, validates what
they ask against the workflow's contracts, writes through the control plane (atomic decisions,
durable kill switches) and the audit log, and hands execution to the workers' queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import redis
from pydantic import ValidationError

from graph.hashing import unstorable
from graph.runtime.fork import ForkError, fork_thread
from graph.runtime.principal import EditInvalid, Forbidden, Principal, ScopeKilled, ServiceError
from graph.runtime.registry import Registry
from graph.runtime.runner import compile_chain, validate_inject, validate_request
from state.checkpoint import RedisSaver
from state.control.errors import EscalationConflict, RunFinished
from state.control.inputs import RunInputs
from state.control.models import Escalation, KillScope, NewRun, RunRecord
from state.control.outbox import Intent
from state.control.plane import ControlPlane
from state.roles import Role
from state.status import TERMINAL_STATUSES

Dispatch = Callable[[str], None]
"""Hands a run id to execution (an RQ enqueue, or inline execution)."""


def _decidable(esc: Escalation, action: str) -> None:
    """Raises ``EscalationConflict`` once decided, ``ServiceError`` for an action not offered."""
    if esc.decision is not None:  # a late decision is told who decided, even once the run ended
        d = esc.decision
        raise EscalationConflict(esc.escalation_id, d.user, d.action, d.decided_at.isoformat())
    allowed = esc.request.get("allowed") or ["approve", "edit", "reject"]
    if action not in allowed:
        raise ServiceError(
            f"decision '{action}' is not allowed here (allowed: {', '.join(allowed)})"
        )


class RunService:
    """Start, decide, kill: every human operation on runs, checked and audited."""

    def __init__(
        self,
        cp: ControlPlane,
        registry: Registry,
        dispatch: Dispatch,
        *,
        raw: redis.Redis | None = None,
    ) -> None:
        self.cp = cp
        self.registry = registry
        self.dispatch = dispatch
        self.raw = raw
        """A bytes-reply client on the same server, for checkpoints (forks)."""

    def _require(self, who: Principal, role: Role, action: str, target: str) -> None:
        if not who.can(role):
            self.cp.audit.append(
                who.name, "denied", target, {"attempted": action, "role": who.role}
            )
            raise Forbidden(f"{who.name} ({who.role}) may not {action}: it needs the {role} role")

    def submit(
        self,
        workflow: str,
        request: Any,
        *,
        who: Principal,
        inject: str | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Register and queue a new run.

        Raises:
            UnknownWorkflowError, InputError: bad workflow, input or fault name.
            ScopeKilled: a kill switch covers the workflow (or everything).
            Forbidden: viewers cannot start runs.
        """
        self._require(who, "approver", "start a run", workflow)
        chain = self.registry.get(workflow)
        payload = validate_request(chain, request)
        validate_inject(chain, inject)
        switch = self.cp.kills.check(workflow=workflow)
        if switch is not None:
            raise ScopeKilled(
                f"{workflow} runs are stopped by the {switch.scope} kill switch "
                f"({switch.reason}, by {switch.user}); clear it to start runs"
            )
        run_id = run_id or uuid.uuid4().hex[:12]
        summary = ", ".join(f"{k}={v}" for k, v in list(payload.items())[:3])[:160]
        spec = NewRun(run_id=run_id, workflow=workflow, input_summary=summary, user=who.name)
        details = {"workflow": workflow, "inject": inject}
        intent = Intent(
            actor=who.name, action="run.start", target=run_id, details=details, dispatch=True
        )
        # One step: the run, its input and what follows (audit, queue); see state.control.outbox.
        record = self.cp.runs.submit(
            spec, payload, inject, intent.model_copy(update={"dispatch": True})
        )
        self.cp.complete(run_id, self.dispatch)
        return record

    def decide(
        self,
        escalation_id: str,
        action: str,
        *,
        who: Principal,
        comment: str = "",
        edited: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Escalation:
        """Decide an escalation (first decision wins) and queue the run's resume.

        Raises:
            Forbidden: only approvers and admins decide.
            UnknownEscalation, EscalationConflict, RunFinished: from the control plane.
            ServiceError: the action is not allowed for this escalation.
            EditInvalid: the edited payload fails the contract (nothing is recorded).
        """
        esc = self.cp.escalations.get(escalation_id, run_id=run_id)
        self._require(who, "approver", f"{action} an escalation", esc.run_id)
        _decidable(esc, action)
        if action == "edit":
            edited = self._validated_edit(esc, edited)
        self._not_killed(esc.run_id)
        details = {
            "escalation_id": escalation_id,
            "comment": comment,
            "saw": {"what": esc.request.get("what"), "proposed": esc.request.get("proposed")},
            "edited": edited,
        }
        intent = Intent(
            actor=who.name,
            action=f"escalation.{action}",
            target=esc.run_id,
            details=details,
            dispatch=True,
        )
        # One step: the decision, the run queued to resume, and what follows (audit, queue).
        self.cp.runs.expect(esc.run_id, "queued")
        decided = self.cp.escalations.decide(
            escalation_id,
            action,  # type: ignore[arg-type]
            user=who.name,
            comment=comment,
            edited=edited,
            run_id=esc.run_id,
            intent=intent,
        )
        self.cp.complete(esc.run_id, self.dispatch)
        return decided

    def _not_killed(self, run_id: str) -> None:
        """A decision on a run a kill switch stops is refused (and told so), not recorded."""
        record = self.cp.runs.get(run_id)
        if record.status in TERMINAL_STATUSES:
            raise RunFinished(run_id, record.status)
        switch = self.cp.kills.check(run_id=run_id, workflow=record.workflow, agent=record.stage)
        if switch is not None:
            raise ScopeKilled(
                f"run {run_id} is stopped by the {switch.scope} kill switch ({switch.reason}, by "
                f"{switch.user}): the decision was not recorded"
            )

    def _validated_edit(self, esc: Escalation, edited: dict[str, Any] | None) -> dict[str, Any]:
        if edited is None:
            raise ServiceError("an edit needs the edited payload")
        record = self.cp.runs.get(esc.run_id)
        stage = self.registry.get(record.workflow).stage(str(esc.request.get("stage")))
        try:
            payload: dict[str, Any] = stage.produces.model_validate(edited).model_dump(mode="json")
        except ValidationError as exc:
            errors = {
                ".".join(str(p) for p in e["loc"]) or "<root>": e["msg"] for e in exc.errors()
            }
            raise EditInvalid(stage.produces.__name__, errors) from None
        bad = unstorable(payload)
        if bad:
            field, _, why = bad.partition(": ")
            raise EditInvalid(stage.produces.__name__, {field: why})
        return payload

    def kill(self, scope: KillScope, target: str | None, *, who: Principal, reason: str) -> int:
        """Trip a kill switch; runs not executing right now are marked killed at once.

        Running runs stop at their next boundary (or are hard-stopped after the grace period)
        by the worker executing them. Returns how many idle runs were marked killed.
        """
        self._require(who, "admin", "trip a kill switch", f"{scope}:{target or '*'}")
        if not reason.strip():
            raise ServiceError("a kill needs a reason")
        if scope == "run":
            self.cp.runs.get(target or "")  # UnknownRun for a run that does not exist
        self.cp.kills.trip(scope, target, reason=reason, user=who.name)
        self.cp.audit.append(who.name, "kill.trip", f"{scope}:{target or '*'}", {"reason": reason})
        killed = 0
        for record in self._idle_runs(scope, target):
            try:
                self.cp.runs.update(
                    record.run_id,
                    status="killed",
                    reason=f"kill switch {scope}:{target or '*'} tripped by {who.name}: {reason}",
                )
                killed += 1
            except RunFinished:
                continue
        return killed

    def _idle_runs(self, scope: KillScope, target: str | None) -> list[RunRecord]:
        if scope == "run":
            record = self.cp.runs.get(target or "")
            return [record] if record.status in ("queued", "waiting") else []
        if scope == "agent":
            return []  # an agent's switch stops runs when they reach that agent
        workflow = target if scope == "workflow" else None
        found: list[RunRecord] = []
        for status in ("queued", "waiting"):
            offset = 0
            while True:
                page = self.cp.runs.list(
                    status=status,
                    workflow=workflow,
                    offset=offset,
                    limit=200,
                )
                found += page.items
                offset += len(page.items)
                if not page.items or offset >= page.total:
                    break
        return found

    def unkill(self, scope: KillScope, target: str | None, *, who: Principal) -> bool:
        """Clear a kill switch; killed runs stay killed (``killed`` is terminal)."""
        self._require(who, "admin", "clear a kill switch", f"{scope}:{target or '*'}")
        cleared = self.cp.kills.clear(scope, target)
        self.cp.audit.append(who.name, "kill.clear", f"{scope}:{target or '*'}", {})
        return cleared

    def fork(
        self,
        run_id: str,
        checkpoint_id: str,
        *,
        who: Principal,
        sets: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Start a new run from a checkpoint of ``run_id``, with state edits, and queue it.

        ``sets`` maps dotted paths of what the next stage reads (``request.text`` before the
        first stage, ``inbox.sourcing.payload.quantity``) to new values; an edited payload goes
        through the gate of its edge before anything reads it (``graph.runtime.fork``). The source
        run is untouched.

        Raises:
            Forbidden, UnknownRun; ServiceError for an unknown checkpoint or path.
        """
        self._require(who, "approver", "fork a run", run_id)
        if self.raw is None:
            raise ServiceError("forking needs the service's checkpoint client (raw=...)")
        source = self.cp.runs.get(run_id)
        chain = self.registry.fresh(source.workflow)
        new_id = uuid.uuid4().hex[:12]
        saver = RedisSaver(self.raw)
        graph = compile_chain(chain, saver)
        request, inject = RunInputs(self.cp.client).get(run_id)
        try:  # the checkpoints first: a run is registered only once it has them
            fork_thread(
                graph,
                saver,
                run_id,
                checkpoint_id,
                new_run_id=new_id,
                chain=chain,
                sets=sets or {},
                user=who.name,
            )
        except ForkError as exc:
            raise ServiceError(str(exc)) from None
        summary = f"fork of {run_id} at {checkpoint_id[-12:]}"
        spec = NewRun(run_id=new_id, workflow=source.workflow, input_summary=summary, user=who.name)
        details = {"source": run_id, "checkpoint_id": checkpoint_id, "sets": sets or {}}
        intent = Intent(
            actor=who.name, action="run.fork", target=new_id, details=details, dispatch=True
        )
        record = self.cp.runs.submit(spec, request, inject, intent)
        self.cp.complete(new_id, self.dispatch)
        return record

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

from graph.runtime import holds
from graph.runtime.deciding import DecisionDesk
from graph.runtime.fork import ForkError, fork_thread
from graph.runtime.notices import kill_notice
from graph.runtime.principal import Forbidden, Principal, ScopeKilled, ServiceError
from graph.runtime.registry import Registry
from graph.runtime.runner import compile_chain, validate_inject, validate_request
from graph.runtime.sizes import check_note, check_size
from state.checkpoint import RedisSaver
from state.control.errors import RunFinished
from state.control.inputs import RunInputs
from state.control.models import Escalation, KillScope, NewRun, RunRecord
from state.control.outbox import Intent
from state.control.plane import ControlPlane
from state.roles import Role
from state.run_events import node_update
from state.settings import get_settings
from state.stores.ledger import RedisLedger

Dispatch = Callable[[str], None]
"""Hands a run id to execution (an RQ enqueue, or inline execution)."""


def _via(who: Principal) -> dict[str, Any]:
    """How the actor signed in, for the audit entry (nothing for the system)."""
    return {"via": who.via} if who.via else {}


class RunService:
    """Start, decide, kill: every human operation on runs, checked and audited."""

    def __init__(
        self,
        cp: ControlPlane,
        registry: Registry,
        dispatch: Dispatch,
        *,
        raw: redis.Redis | None = None,
        admin_fallback: bool | None = None,
    ) -> None:
        self.cp = cp
        self.registry = registry
        self.dispatch = dispatch
        self.raw = raw
        """A bytes-reply client on the same server, for checkpoints (forks)."""
        self.admin_fallback = (
            get_settings().admin_fallback if admin_fallback is None else admin_fallback
        )
        """Admins outside an escalation's group may decide it (audited as the fallback)."""

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
            InputTooLarge: the input is over ``WAYBILL_MAX_INPUT_BYTES`` (nothing is stored).
            ScopeKilled: a kill switch covers the workflow (or everything).
            Forbidden: viewers cannot start runs.
        """
        self._require(who, "approver", "start a run", workflow)
        chain = self.registry.get(workflow)
        check_size(request, "the input")  # before validating it: a huge input costs there too
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
        details = {"workflow": workflow, "inject": inject} | _via(who)
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
        """Decide an escalation and queue the run's resume (see ``graph.runtime.deciding``).

        The first decision wins; an approval of an escalation that needs M approvals decides
        at the Mth distinct approver (the returned escalation has no decision before that).

        Raises:
            Forbidden: only approvers and admins decide; NotInGroup, FourEyes (subclasses):
                not in the escalation's group, or the run's starter approving its action.
            UnknownEscalation, EscalationConflict, DuplicateApproval, EscalationMoved,
            RunFinished: from the control plane.
            ServiceError: the action is not allowed for this escalation.
            EditInvalid: the edited payload fails the contract (nothing is recorded).
            InputTooLarge: the edited payload is over ``WAYBILL_MAX_INPUT_BYTES`` (likewise).
        """
        esc = self.cp.escalations.get(escalation_id, run_id=run_id)
        self._require(who, "approver", f"{action} an escalation", esc.run_id)
        desk = DecisionDesk(self.cp, self.registry, self.dispatch, self.admin_fallback)
        return desk.decide(
            escalation_id, action, who=who, comment=comment, edited=edited, run_id=esc.run_id
        )

    def kill(self, scope: KillScope, target: str | None, *, who: Principal, reason: str) -> int:
        """Trip a kill switch; runs not executing right now are marked killed at once.

        Running runs stop at their next boundary (or are hard-stopped after the grace period)
        by the worker executing them. Returns how many idle runs were marked killed.
        """
        self._require(who, "admin", "trip a kill switch", f"{scope}:{target or '*'}")
        if not reason.strip():
            raise ServiceError("a kill needs a reason")
        check_note(reason, "a kill reason")
        holds.check_target(self.cp, self.registry, scope, target)
        switch = self.cp.kills.trip(scope, target, reason=reason, user=who.name)
        details = {"reason": reason} | _via(who)
        self.cp.audit.append(who.name, "kill.trip", f"{scope}:{target or '*'}", details)
        self.cp.notices.publish(
            kill_notice(
                scope, target, user=who.name, reason=reason, tripped=True, at=switch.tripped_at
            )
        )
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
            return [record] if record.status in ("queued", "waiting", "held") else []
        if scope == "agent":
            return []  # an agent's switch stops runs when they reach that agent
        workflow = target if scope == "workflow" else None
        return [
            r for s in ("queued", "waiting", "held") for r in holds.runs_with(self.cp, s, workflow)
        ]

    def hold(self, scope: KillScope, target: str | None, *, who: Principal, reason: str) -> int:
        """Trip a hold switch: covered runs stop at their next boundary, ``held`` (queued ones
        at once), until released. Returns how many queued runs were held now."""
        label = holds.switch_label(scope, target)
        self._require(who, "admin", "trip a hold switch", label)
        if not reason.strip():
            raise ServiceError("a hold needs a reason")
        check_note(reason, "a hold reason")
        holds.check_target(self.cp, self.registry, scope, target)
        switch, held = holds.trip_hold(self.cp, scope, target, who=who, reason=reason)
        details = {"reason": reason, "held": held} | _via(who)
        self.cp.audit.append(who.name, "hold.trip", label, details)
        self.cp.notices.publish(
            kill_notice(
                scope, target, user=who.name, reason=reason, tripped=True, at=switch.tripped_at,
                hold=True,
            )
        )  # fmt: skip
        return held

    def release(self, scope: KillScope, target: str | None, *, who: Principal) -> tuple[bool, int]:
        """Release a hold switch: the held runs no other hold covers are queued again and go on
        from their last checkpoint. Returns whether it was set, and how many runs go on; one
        not set on a run, workflow or stage that does not exist is refused (``UnknownTarget``)."""
        label = holds.switch_label(scope, target)
        self._require(who, "admin", "release a hold switch", label)
        holds.check_clearable(self.cp, self.registry, "hold", scope, target)
        cleared, released = holds.release_hold(self.cp, scope, target, who=who)
        details = {"released": len(released), "was_set": cleared} | _via(who)
        self.cp.audit.append(who.name, "hold.release", label, details)
        if cleared:
            notice = kill_notice(scope, target, user=who.name, reason="", tripped=False, hold=True)
            self.cp.notices.publish(notice)
        for run_id in released:
            self.dispatch(run_id)
        return cleared, len(released)

    def unkill(self, scope: KillScope, target: str | None, *, who: Principal) -> bool:
        """Clear a kill switch; killed runs stay killed (``killed`` is terminal). One not set on
        a run, workflow or stage that does not exist is refused (``UnknownTarget``)."""
        self._require(who, "admin", "clear a kill switch", f"{scope}:{target or '*'}")
        holds.check_clearable(self.cp, self.registry, "kill", scope, target)
        cleared = self.cp.kills.clear(scope, target)
        details = _via(who)
        self.cp.audit.append(who.name, "kill.clear", f"{scope}:{target or '*'}", details)
        if cleared:
            self.cp.notices.publish(
                kill_notice(scope, target, user=who.name, reason="", tripped=False)
            )
        return cleared

    def _fork_state(
        self,
        workflow: str,
        run_id: str,
        checkpoint_id: str,
        new_id: str,
        sets: dict[str, Any],
        who: Principal,
    ) -> None:
        """Write the fork's checkpoints, and the event of its edited handoff (if any)."""
        assert self.raw is not None
        chain = self.registry.fresh(workflow)
        saver = RedisSaver(self.raw)
        graph = compile_chain(chain, saver)
        try:
            edit = fork_thread(graph, saver, run_id, checkpoint_id, new_run_id=new_id,
                               chain=chain, sets=sets, user=who.name,
                               ledger=RedisLedger(self.cp.client, run_id))  # fmt: skip
        except ForkError as exc:
            raise ServiceError(str(exc)) from None
        if edit is not None:  # the human's handoff opens the new run's timeline
            node, handoff = edit
            data = node_update(chain.nodes()[node], {"handoffs": [handoff]})
            self.cp.events.append(new_id, "node", stage=node, data=data.model_dump(mode="json"))

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
        request, inject = RunInputs(self.cp.client).get(run_id)
        new_id = uuid.uuid4().hex[:12]
        # The checkpoints first: a run is registered only once it has them.
        self._fork_state(source.workflow, run_id, checkpoint_id, new_id, sets or {}, who)
        summary = f"fork of {run_id} at {checkpoint_id[-12:]}"
        spec = NewRun(run_id=new_id, workflow=source.workflow, input_summary=summary, user=who.name)
        details = {"source": run_id, "checkpoint_id": checkpoint_id, "sets": sets or {}}
        details |= _via(who)
        intent = Intent(
            actor=who.name, action="run.fork", target=new_id, details=details, dispatch=True
        )
        record = self.cp.runs.submit(spec, request, inject, intent)
        self.cp.complete(new_id, self.dispatch)
        return record

"""Deciding an escalation: who may, what is recorded, what follows (the run service's decide).

Checks, in order: the escalation is still open and offers the action; the decider may take it
(``graph.runtime.eligibility``: group, four eyes, admin fallback, system); an edit fits
``WAYBILL_MAX_INPUT_BYTES`` and the contract; no kill switch stops the run. Then one atomic
script records it (the first decision wins; for an approval of an escalation that needs M, the
Mth distinct approver's; a duplicate approval is refused) with its audit entry and the run's
resume. Every refusal of a person is audited, for who asks or for the state of the escalation
or the run (a late decision, a killed run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from graph.hashing import unstorable
from graph.runtime.eligibility import Authority, authority
from graph.runtime.principal import EditInvalid, Principal, ScopeKilled, ServiceError
from graph.runtime.registry import Registry
from graph.runtime.sizes import check_note, check_size
from state.control.errors import (
    DuplicateApproval,
    EscalationConflict,
    EscalationMoved,
    RunFinished,
)
from state.control.models import Escalation, RunRecord
from state.control.outbox import Intent
from state.control.plane import ControlPlane
from state.status import TERMINAL_STATUSES

REFUSALS = (ServiceError, DuplicateApproval, EscalationConflict, EscalationMoved, RunFinished)
"""What a decision can be refused with, once its escalation is found: each is audited."""


def decidable(esc: Escalation, action: str) -> None:
    """Raises ``EscalationConflict`` once decided, ``ServiceError`` for an action not offered."""
    if esc.decision is not None:  # a late decision is told who decided, even once the run ended
        d = esc.decision
        said = verb(esc, d.action)
        raise EscalationConflict(esc.escalation_id, d.user, said, d.decided_at.isoformat())
    allowed = esc.request.get("allowed") or ["approve", "edit", "reject"]
    if action not in allowed:
        raise ServiceError(
            f"decision '{action}' is not allowed here (allowed: {', '.join(allowed)})"
        )


def decides(esc: Escalation, user: str) -> bool:
    """Whether ``user``'s call was the decision (not one approval of several before it)."""
    return esc.decision is not None and esc.decision.user == user


def verb(esc: Escalation, action: str) -> str:
    """How a decision is called: a reject of a notify-tier action is a veto."""
    return "veto" if esc.kind == "veto" and action == "reject" else action


@dataclass
class DecisionDesk:
    """Decides escalations for the run service (see the module's docstring)."""

    cp: ControlPlane
    registry: Registry
    dispatch: Callable[[str], None]
    admin_fallback: bool

    def deny(self, who: Principal, target: str, attempted: str, why: str) -> None:
        """Audit a refused attempt."""
        details = {"attempted": attempted, "role": who.role, "why": why}
        self.cp.audit.append(who.name, "denied", target, details | self._via(who))

    @staticmethod
    def _via(who: Principal) -> dict[str, str]:
        return {"via": who.via} if who.via else {}

    def _authority(self, esc: Escalation, run: RunRecord, who: Principal, action: str) -> Authority:
        allowed = authority(
            self.cp, esc, who, action, starter=run.user, admin_fallback=self.admin_fallback
        )
        if action == "approve" and who.name in {a.user for a in esc.approvals}:
            raise DuplicateApproval(
                esc.escalation_id, who.name, len(esc.approvals), esc.approvals_needed
            )
        return allowed

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
        """Decide (or add an approval to) an escalation; see ``RunService.decide``. Every
        refusal of a person is audited (``denied``), whether for who asks or for the state of
        the escalation or the run."""
        esc = self.cp.escalations.get(escalation_id, run_id=run_id)
        try:
            return self._decide(esc, action, who, comment, edited)
        except REFUSALS as exc:
            if not who.system:  # a deadline that finds the question answered is no refusal
                attempted = f"{verb(esc, action)} escalation {escalation_id}"
                self.deny(who, esc.run_id, attempted, str(exc))
            raise

    def _decide(
        self,
        esc: Escalation,
        action: str,
        who: Principal,
        comment: str,
        edited: dict[str, Any] | None,
    ) -> Escalation:
        escalation_id = esc.escalation_id
        check_note(comment, "a decision's comment")
        decidable(esc, action)
        run = self.cp.runs.get(esc.run_id)
        grounds = self._authority(esc, run, who, action)
        if action == "edit":
            edited = self._validated_edit(esc, run, edited)
        self._not_killed(run)
        saw = {"comment": comment, "edited": edited, "as": grounds}
        intent, partial = self._intents(esc, who, verb(esc, action), saw)
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
            partial=partial,
            group=None if who.system else esc.group,
        )
        # Only the decision that committed queues the run: an approval short of M completes
        # its own audit entry (and any other's) without handing the run to the queue twice.
        mine = decides(decided, who.name)
        self.cp.complete(esc.run_id, self.dispatch if mine else None)
        return decided

    def _intents(
        self, esc: Escalation, who: Principal, name: str, saw: dict[str, Any]
    ) -> tuple[Intent, Intent]:
        """What follows a decision, and what follows an approval that does not decide yet."""
        grounds = saw["as"]
        details: dict[str, Any] = {
            "escalation_id": esc.escalation_id,
            "comment": saw["comment"],
            "saw": {"what": esc.request.get("what"), "proposed": esc.request.get("proposed")},
            "edited": saw["edited"],
            "as": f"member of {esc.group}" if grounds == "member" else grounds,
        } | self._via(who)
        decided = Intent(
            actor=who.name,
            action=f"escalation.{name}",
            target=esc.run_id,
            details=details,
            dispatch=True,
        )
        partial = Intent(
            actor=who.name,
            action="escalation.approval",
            target=esc.run_id,
            details=details | {"approvals_needed": esc.approvals_needed},
        )
        return decided, partial

    def _not_killed(self, record: RunRecord) -> None:
        """A decision on a run a kill switch stops is refused (and told so), not recorded."""
        if record.status in TERMINAL_STATUSES:
            raise RunFinished(record.run_id, record.status)
        switch = self.cp.kills.check(
            run_id=record.run_id, workflow=record.workflow, agent=record.stage
        )
        if switch is not None:
            raise ScopeKilled(
                f"run {record.run_id} is stopped by the {switch.scope} kill switch "
                f"({switch.reason}, by {switch.user}): the decision was not recorded"
            )

    def _validated_edit(
        self, esc: Escalation, record: RunRecord, edited: dict[str, Any] | None
    ) -> dict[str, Any]:
        if edited is None:
            raise ServiceError("an edit needs the edited payload")
        check_size(edited, "the edited payload")
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

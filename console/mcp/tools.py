"""What the oversight MCP server does, as plain typed functions over the control plane.

Every operation re-reads the caller's role; the writes (tripping a kill or hold switch) go through
the run service, which checks the admin role and writes the audit log. There is deliberately no
operation that decides an escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from console.operator import current
from graph.runtime.principal import Principal, ServiceError
from graph.runtime.service import RunService
from state.control.models import KillScope, KillSwitch, RunPage, RunRecord
from state.control.plane import ControlPlane
from state.control.search import fold
from state.run_events import NodeUpdate, node_updates
from state.status import RunStatus
from state.verdicts import GateVerdict

MAX_EVENTS = 10_000
"""A timeline is read up to this many events (a run has a few per node)."""

MAX_PAGE = 500
"""The most runs or escalations one call lists."""
MAX_SCAN = 10_000
"""The most recent runs a search reads."""
MAX_OFFSET = 1_000_000


def within(name: str, value: int, low: int, high: int) -> int:
    """``value`` when ``low <= value <= high``: a number out of range is refused (a limit of
    0 or -3 asks for nothing sensible; it used to return one result).

    Raises:
        ServiceError: One line naming the argument and its range.
    """
    if not low <= value <= high:
        raise ServiceError(f"{name} must be between {low} and {high}, not {value}")
    return value


HUMANS_ONLY = (
    "This server can never approve, edit or reject an escalation: approvals come from humans "
    "only, in the Waybill console or with `waybill decide`."
)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class PendingEscalation(_Out):
    """An escalation waiting for a human (shown, never decided, here)."""

    escalation_id: str
    run_id: str
    kind: str
    stage: str | None
    created_at: datetime
    what: str
    why: list[str]
    proposed: dict[str, Any]
    allowed: list[str]
    decided_by: str = "a human, in the console or with `waybill decide`"


class HoldResult(_Out):
    """A tripped hold switch and the queued runs it held at once."""

    scope: KillScope
    target: str
    queued_runs_held: int
    note: str = (
        "running runs stop at their next node boundary, held (not ended); a human releases the "
        "hold in the console or with `waybill release`"
    )


class KillResult(_Out):
    """A tripped kill switch and the idle runs it marked killed at once."""

    scope: KillScope
    target: str
    idle_runs_killed: int
    note: str = "running runs stop at their next node boundary"


class Oversight:
    """The oversight operations of one authenticated console user."""

    def __init__(
        self, cp: ControlPlane, service: RunService, who: Principal, token: str | None = None
    ) -> None:
        self.cp = cp
        self.service = service
        self.who = who
        self.token = token
        """The API token ``who`` authenticated with: every call checks it is still live."""

    def _principal(self) -> Principal:
        return current(self.cp, self.who, self.token)

    def list_runs(
        self,
        status: RunStatus | None = None,
        workflow: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> RunPage:
        """A page of runs, newest first (``limit`` 1 to 500, ``offset`` from 0)."""
        self._principal()
        return self.cp.runs.list(
            status=status,
            workflow=workflow,
            limit=within("limit", limit, 1, MAX_PAGE),
            offset=within("offset", offset, 0, MAX_OFFSET),
        )

    def search_runs(self, query: str, limit: int = 20, scan: int = 2000) -> list[RunRecord]:
        """Recent runs whose id, workflow, stage, input summary, user or reason contain
        ``query`` (case-insensitive, accents however typed: as the console's search), newest
        first: at most ``limit`` (1 to 500) of the last ``scan`` (1 to 10,000) runs."""
        self._principal()
        within("limit", limit, 1, MAX_PAGE)
        within("scan", scan, 1, MAX_SCAN)
        needle = fold(query.strip())
        if not needle:
            raise ServiceError("a search needs some text")
        found: list[RunRecord] = []
        for record in self.cp.runs.list(limit=scan).items:
            fields = (record.run_id, record.workflow, record.stage, record.input_summary)
            text = " ".join(str(f or "") for f in (*fields, record.user, record.reason))
            if needle in fold(text):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def timeline(self, run_id: str, last: int = 200) -> list[NodeUpdate]:
        """What each node of the run did (typed events), oldest first; the last ``last`` (1 to
        10,000)."""
        self._principal()
        within("last", last, 1, MAX_EVENTS)
        self.cp.runs.get(run_id)  # UnknownRun, one line, for a run that does not exist
        updates = node_updates(self.cp.events.read(run_id, count=MAX_EVENTS))
        return updates[-last:]

    def verdicts(self, run_id: str) -> list[GateVerdict]:
        """Every gate verdict of the run, oldest first."""
        return [u.verdict for u in self.timeline(run_id, last=MAX_EVENTS) if u.verdict is not None]

    def pending(self, limit: int = 50) -> list[PendingEscalation]:
        """Escalations waiting for a human, oldest first (``limit`` 1 to 500)."""
        self._principal()
        within("limit", limit, 1, MAX_PAGE)
        return [
            PendingEscalation(
                escalation_id=e.escalation_id,
                run_id=e.run_id,
                kind=e.kind,
                stage=e.stage,
                created_at=e.created_at,
                what=str(e.request.get("what", "")),
                why=[str(w) for w in e.request.get("why", [])],
                proposed=dict(e.request.get("proposed") or {}),
                allowed=[str(a) for a in e.request.get("allowed", [])],
            )
            for e in self.cp.escalations.list_pending(limit=limit)
        ]

    def kill_switches(self) -> list[KillSwitch]:
        """The kill and hold switches tripped now (``kind`` tells them apart)."""
        self._principal()
        return self.cp.kills.list(kind=None)

    def trip_hold_switch(self, scope: KillScope, target: str | None, reason: str) -> HoldResult:
        """Trip a hold switch as this user (admin role; checked and audited by the service)."""
        at = _switch_target(scope, target, "hold")
        held = self.service.hold(scope, at, who=self._principal(), reason=reason)
        return HoldResult(scope=scope, target=target or "*", queued_runs_held=held)

    def trip_kill_switch(self, scope: KillScope, target: str | None, reason: str) -> KillResult:
        """Trip a kill switch as this user (admin role; checked and audited by the service)."""
        at = _switch_target(scope, target, "kill")
        killed = self.service.kill(scope, at, who=self._principal(), reason=reason)
        return KillResult(scope=scope, target=target or "*", idle_runs_killed=killed)


def _switch_target(scope: KillScope, target: str | None, kind: str) -> str | None:
    """The switch's target (None for the global scope).

    Raises:
        ServiceError: A scope other than global without a target.
    """
    if scope == "global":
        return None
    if not (target or "").strip():
        raise ServiceError(f"a {scope} {kind} switch needs a target")
    return target

"""Counting what runs did, for the metrics endpoint: verdicts, MAST codes, actions, decisions.

Counts go to Redis (``state.control.metrics``), so every worker process adds to the same
counters and a scrape of ``waybill metrics`` sees them all. A run's node counts are kept in
memory and written in one round trip when its execution stops, or once they are ``FLUSH_S``
old (a node costs no round trip of its own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import redis

from state.control.errors import ControlPlaneError
from state.control.metrics import MetricCounters
from state.control.models import RunRecord
from state.control.outage import log_failure
from state.control.plane import ControlPlane
from state.run_events import ActionRecorded, NodeUpdate, VerdictGiven

log = logging.getLogger(__name__)

Count = tuple[str, Mapping[str, str], float]
SYSTEM_PREFIX = "system:"
"""How the names of the system's principals start (``graph.runtime.principal``)."""
FLUSH_S = 1.0
"""Longest time a run's counts wait in memory before they are written."""


def counts_of(workflow: str, update: NodeUpdate) -> list[Count]:
    """The counter increments one node's typed events make."""
    out: list[Count] = []
    for given in update.of_kind(VerdictGiven):
        v = given.verdict
        out.append(("waybill_gate_verdicts", {"workflow": workflow, "decision": v.decision}, 1))
        for code in v.mast:
            out.append(
                (
                    "waybill_gate_mast",
                    {"workflow": workflow, "code": code, "decision": v.decision},
                    1,
                )
            )
    for recorded in update.of_kind(ActionRecorded):
        r = recorded.record
        labels = {"workflow": workflow, "action": r.action, "status": r.status}
        out.append(("waybill_actions", labels, 1))
    return out


class MetricsRecorder:
    """A run observer that adds to the shared counters; a Redis error is logged, never raised
    (a run must not fail because a counter could not be written)."""

    def __init__(self, cp: ControlPlane) -> None:
        self.cp = cp
        self.counters = MetricCounters(cp.client)
        self._workflow: dict[str, str] = {}
        self._pending: dict[str, list[Count]] = {}
        self._since: dict[str, float] = {}

    def started(self, run_id: str, record: RunRecord, worker: str) -> None:
        """Remember the run's workflow (a label of its counts)."""
        self._workflow[run_id] = record.workflow

    def node(self, run_id: str, update: NodeUpdate) -> None:
        """Count the node's verdicts, MAST codes and action outcomes (written with the run's
        other counts: see the module)."""
        counts = counts_of(self._workflow.get(run_id, ""), update)
        if not counts:
            return
        self._pending.setdefault(run_id, []).extend(counts)
        since = self._since.setdefault(run_id, time.monotonic())
        if time.monotonic() - since >= FLUSH_S:
            self._flush(run_id)

    def _flush(self, run_id: str) -> None:
        counts = self._pending.pop(run_id, [])
        self._since.pop(run_id, None)
        try:
            self.counters.add(counts)
        except redis.RedisError as exc:
            log_failure(log, exc, "run %s: could not count a node's events", run_id)

    def decided(self, run_id: str, escalation_id: str) -> None:
        """Count a decision: a human's, with how long the escalation waited for it, in the
        human metrics; one the system took (``system:deadline``'s default, a veto window
        that passed) in ``waybill_system_decisions`` only, so that the human metrics keep
        meaning what their names say."""
        try:
            esc = self.cp.escalations.get(escalation_id, run_id=run_id)
        except (ControlPlaneError, redis.RedisError):
            log.warning("run %s: escalation %s not found", run_id, escalation_id)
            return
        if esc.decision is None:
            return
        waited = max(0.0, (esc.decision.decided_at - esc.created_at).total_seconds())
        labels = {"workflow": self._workflow.get(run_id, ""), "kind": esc.kind}
        decided = {**labels, "action": esc.decision.action}
        try:
            if esc.decision.user.startswith(SYSTEM_PREFIX):
                by = esc.decision.user.removeprefix(SYSTEM_PREFIX)
                self.counters.add([("waybill_system_decisions", {**decided, "by": by}, 1)])
                return
            self.counters.observe("waybill_escalation_decision_seconds", labels, waited)
            self.counters.add([("waybill_human_decisions", decided, 1)])
        except redis.RedisError as exc:
            log_failure(log, exc, "run %s: could not count a decision", run_id)

    def ended(self, run_id: str) -> None:
        """Write the run's counts and forget it (its next execution may be elsewhere)."""
        self._flush(run_id)
        self._workflow.pop(run_id, None)

"""The series ``waybill metrics`` shows at zero before their first event.

Prometheus' ``increase()`` and ``rate()`` need a series to exist before it grows: a counter that
appears at its first increase hides that increase. Where a label's values are a known finite set
(run statuses, gate decisions, MAST codes, action outcomes, decision actions, escalation kinds,
and the registered workflows and their actions), every combination is shown from the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import get_args

from state.control.metrics import DECISION_BUCKETS_S, Sample
from state.decisions import ActionRecord, DecisionAction, EscalationRequest
from state.mast import MAST_CODES
from state.status import RunStatus
from state.verdicts import GateDecision

RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
GATE_DECISIONS: tuple[str, ...] = get_args(GateDecision)
DECISION_ACTIONS: tuple[str, ...] = get_args(DecisionAction)
ESCALATION_KINDS: tuple[str, ...] = (
    *get_args(EscalationRequest.model_fields["kind"].annotation),
    "veto",  # a notify-tier action's veto window (``graph.runtime.stops``)
)
ACTION_STATUSES: tuple[str, ...] = get_args(ActionRecord.model_fields["status"].annotation)
SYSTEM_DECIDERS: tuple[str, ...] = ("deadline", "veto-window")
"""Who decides for the system (``system:<name>``): a deadline's default, a veto window."""

Catalog = Mapping[str, Sequence[str]]
"""Each registered workflow, with the names of its actions."""


def _bucket_labels() -> list[str]:
    return [*(repr(float(b)) for b in DECISION_BUCKETS_S), "+Inf"]


def zero_samples(catalog: Catalog) -> list[Sample]:
    """A zero sample of every counter and histogram series whose labels are known."""
    out: list[Sample] = []
    for workflow, actions in catalog.items():
        w = {"workflow": workflow}
        for decision in GATE_DECISIONS:
            out.append(Sample("waybill_gate_verdicts", {**w, "decision": decision}, 0.0))
            for code in MAST_CODES:
                labels = {**w, "code": code, "decision": decision}
                out.append(Sample("waybill_gate_mast", labels, 0.0))
        for action in actions:
            for status in ACTION_STATUSES:
                labels = {**w, "action": action, "status": status}
                out.append(Sample("waybill_actions", labels, 0.0))
        for kind in ESCALATION_KINDS:
            k = {**w, "kind": kind}
            for le in _bucket_labels():
                out.append(Sample("waybill_escalation_decision_seconds_bucket", {**k, "le": le}, 0))
            out.append(Sample("waybill_escalation_decision_seconds_sum", k, 0.0))
            for act in DECISION_ACTIONS:
                out.append(Sample("waybill_human_decisions", {**k, "action": act}, 0.0))
                for by in SYSTEM_DECIDERS:
                    labels = {**k, "action": act, "by": by}
                    out.append(Sample("waybill_system_decisions", labels, 0.0))
    return out


def with_zeros(stored: list[Sample], catalog: Catalog) -> list[Sample]:
    """``stored`` plus a zero sample of every known series it does not hold yet."""
    seen = {(s.metric, tuple(sorted(s.labels.items()))) for s in stored}
    zeros = [
        z for z in zero_samples(catalog) if (z.metric, tuple(sorted(z.labels.items()))) not in seen
    ]
    return [*stored, *zeros]

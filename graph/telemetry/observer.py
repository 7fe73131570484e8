"""The executor's hooks for telemetry, and the observer a process uses by default.

Instrumentation costs nothing when it is off: with metrics off and no OTLP endpoint the
executor gets :class:`NullObserver`, whose hooks return at once, and no tracer is ever built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graph.telemetry.counting import MetricsRecorder
from graph.telemetry.tracing import RunTracer, otlp_tracer
from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.run_events import NodeUpdate
from state.settings import get_settings


class RunObserver(Protocol):
    """What the executor reports about one execution of a run (a *segment* of it)."""

    def started(self, run_id: str, record: RunRecord, worker: str) -> None:
        """This process took the run's lease and starts (or resumes) executing it."""
        ...

    def node(self, run_id: str, update: NodeUpdate) -> None:
        """A node's typed events were written to the run's event stream (once per node)."""
        ...

    def decided(self, run_id: str, escalation_id: str) -> None:
        """The run resumes with a human's decision on ``escalation_id``."""
        ...

    def ended(self, run_id: str) -> None:
        """This execution stopped (the run waits, ended, was killed or lost its lease)."""
        ...


class NullObserver:
    """Observes nothing (telemetry off)."""

    def started(self, run_id: str, record: RunRecord, worker: str) -> None:
        """Nothing."""

    def node(self, run_id: str, update: NodeUpdate) -> None:
        """Nothing."""

    def decided(self, run_id: str, escalation_id: str) -> None:
        """Nothing."""

    def ended(self, run_id: str) -> None:
        """Nothing."""


class Observers:
    """Several observers, called in order; one that raises never stops a run (it is logged by
    the observer itself, which must not raise)."""

    def __init__(self, observers: Sequence[RunObserver]) -> None:
        self.observers = tuple(observers)

    def started(self, run_id: str, record: RunRecord, worker: str) -> None:
        """Tell every observer."""
        for o in self.observers:
            o.started(run_id, record, worker)

    def node(self, run_id: str, update: NodeUpdate) -> None:
        """Tell every observer."""
        for o in self.observers:
            o.node(run_id, update)

    def decided(self, run_id: str, escalation_id: str) -> None:
        """Tell every observer."""
        for o in self.observers:
            o.decided(run_id, escalation_id)

    def ended(self, run_id: str) -> None:
        """Tell every observer."""
        for o in self.observers:
            o.ended(run_id)


def default_observer(cp: ControlPlane) -> RunObserver:
    """What observes runs in this process, from the settings (read now).

    ``WAYBILL_METRICS`` (on by default) counts verdicts, actions and decisions in Redis for the
    metrics endpoint (one pipelined round trip per node); ``OTEL_EXPORTER_OTLP_ENDPOINT`` (unset
    by default) exports spans over OTLP/HTTP.
    """
    settings = get_settings()
    found: list[RunObserver] = []
    if settings.metrics:
        found.append(MetricsRecorder(cp))
    if settings.otel_exporter_otlp_endpoint:
        found.append(RunTracer(otlp_tracer(), cp))
    if not found:
        return NullObserver()
    return found[0] if len(found) == 1 else Observers(found)

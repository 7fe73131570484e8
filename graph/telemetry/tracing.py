"""OpenTelemetry spans for runs: the run, each execution of it, each node, action, model call
and human decision.

A run outlives the processes that execute it: it pauses for a human, and another worker (on
another machine, days later) resumes it. Its trace context is kept beside the run in Redis
(``wb:{<run>}:trace``): every execution is a span whose parent is the run's root span and which
links to the execution before it, so the pause of an escalation and the move between workers
are visible in one trace. The root span itself is exported when the run ends, with the ids its
children were given (``PresetIds``), from the run's creation to its end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import redis
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from graph.telemetry.run_trace import RunTraceIds, TraceStore
from graph.telemetry.spans import (
    action_span,
    failed,
    model_call,
    node_attributes,
    node_span_name,
    scalar,
)
from state.control.errors import ControlPlaneError
from state.control.models import RunRecord
from state.control.outage import log_failure
from state.control.plane import ControlPlane
from state.run_events import ActionRecorded, AgentDecided, NodeUpdate
from state.status import TERMINAL_STATUSES

log = logging.getLogger(__name__)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


class PresetIds(RandomIdGenerator):
    """Random ids, except for a span started inside :meth:`preset` (a run's root span)."""

    def __init__(self) -> None:
        self._next: ContextVar[tuple[int, int] | None] = ContextVar("waybill_ids", default=None)

    def generate_trace_id(self) -> int:
        """The preset trace id, else a random one."""
        preset = self._next.get()
        return preset[0] if preset else super().generate_trace_id()

    def generate_span_id(self) -> int:
        """The preset span id, else a random one."""
        preset = self._next.get()
        return preset[1] if preset else super().generate_span_id()

    @contextmanager
    def preset(self, trace_id: int, span_id: int) -> Iterator[None]:
        """Give the span started inside this block these ids."""
        token = self._next.set((trace_id, span_id))
        try:
            yield
        finally:
            self._next.reset(token)


@dataclass(frozen=True)
class TraceSetup:
    """A tracer provider and the id generator it was built with."""

    provider: TracerProvider
    ids: PresetIds


def make_setup(processor: SpanProcessor) -> TraceSetup:
    """A provider (service ``waybill``) that sends spans to ``processor``."""
    ids = PresetIds()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "waybill"}), id_generator=ids
    )
    provider.add_span_processor(processor)
    return TraceSetup(provider, ids)


_otlp: TraceSetup | None = None


def otlp_tracer() -> TraceSetup:
    """The process's OTLP/HTTP setup, built on first use (never at import).

    The exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables itself (endpoint,
    headers, timeout).
    """
    global _otlp
    if _otlp is None:
        _otlp = make_setup(BatchSpanProcessor(OTLPSpanExporter()))
    return _otlp


def _ns(at: datetime) -> int:
    return int(at.timestamp() * 1e9)


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=_SAMPLED)


@dataclass
class _Segment:
    span: trace.Span
    ctx: Context
    last_ns: int
    previous: Link | None


class RunTracer:
    """A run observer that writes spans; it never raises into the run (errors are logged)."""

    def __init__(self, setup: TraceSetup, cp: ControlPlane) -> None:
        self.setup = setup
        self.cp = cp
        self.tracer = setup.provider.get_tracer("waybill")
        self.store = TraceStore(cp.client)
        self._segments: dict[str, _Segment] = {}

    def started(self, run_id: str, record: RunRecord, worker: str) -> None:
        """Open the span of this execution, under the run's root, linked to the last one."""
        try:
            ids = self.store.ids(run_id)
        except redis.RedisError as exc:
            log_failure(log, exc, "run %s: no trace context", run_id)
            return
        root = trace.set_span_in_context(NonRecordingSpan(_context(ids.trace_id, ids.root)))
        previous = None
        if ids.last_segment:
            attrs = {"waybill.link": "previous execution"}
            previous = Link(_context(ids.trace_id, ids.last_segment), attrs)
        span = self.tracer.start_span(
            f"execute {record.workflow}",
            context=root,
            links=[previous] if previous else [],
            attributes={
                "waybill.run_id": run_id,
                "waybill.workflow": record.workflow,
                "waybill.worker": worker,
                "waybill.run.status_before": record.status,
            },
        )
        self._segments[run_id] = _Segment(
            span, trace.set_span_in_context(span), time.time_ns(), previous
        )
        self._remember(run_id, span)

    def _remember(self, run_id: str, span: trace.Span) -> None:
        try:
            self.store.set_last_segment(run_id, span.get_span_context().span_id)
        except redis.RedisError as exc:
            log_failure(log, exc, "run %s: could not store the trace context", run_id)

    def node(self, run_id: str, update: NodeUpdate) -> None:
        """One span per node (from the previous node's end to now), with its children."""
        seg = self._segments.get(run_id)
        if seg is None:
            return
        start, end = seg.last_ns, time.time_ns()
        span = self.tracer.start_span(
            node_span_name(update),
            context=seg.ctx,
            start_time=start,
            attributes=scalar(node_attributes(update)),
        )
        inner = trace.set_span_in_context(span)
        for decided in update.of_kind(AgentDecided):
            call = model_call(decided.record)
            if call is not None:
                child = self.tracer.start_span(
                    call[0],
                    context=inner,
                    kind=SpanKind.CLIENT,
                    start_time=start,
                    attributes=call[1],
                )
                child.end(end)
        for recorded in update.of_kind(ActionRecorded):
            name, attrs = action_span(recorded.record)
            child = self.tracer.start_span(name, context=inner, start_time=start, attributes=attrs)
            if recorded.record.status == "unknown":
                child.set_status(trace.Status(trace.StatusCode.ERROR, "outcome unknown"))
            child.end(end)
        why = failed(update)
        if why is not None:
            span.set_status(trace.Status(trace.StatusCode.ERROR, why))
        span.end(end)
        seg.last_ns = end

    def decided(self, run_id: str, escalation_id: str) -> None:
        """The human's decision: a span from the question to the answer, in this execution."""
        seg = self._segments.get(run_id)
        if seg is None:
            return
        try:
            esc = self.cp.escalations.get(escalation_id, run_id=run_id)
        except (ControlPlaneError, redis.RedisError):
            return
        if esc.decision is None:
            return
        d = esc.decision
        span = self.tracer.start_span(
            "human decision",
            context=seg.ctx,
            start_time=_ns(esc.created_at),
            links=[seg.previous] if seg.previous else [],
            attributes={
                "waybill.escalation.id": escalation_id,
                "waybill.escalation.kind": esc.kind,
                "waybill.stage": esc.stage or "",
                "waybill.human.action": d.action,
                "waybill.human.user": d.user,
                "waybill.escalation.wait_s": (d.decided_at - esc.created_at).total_seconds(),
            },
        )
        span.end(_ns(d.decided_at))

    def ended(self, run_id: str) -> None:
        """Close this execution's span; at the run's end, export its root span too."""
        seg = self._segments.pop(run_id, None)
        if seg is None:
            return
        try:
            record = self.cp.runs.get(run_id)
            seg.span.set_attribute("waybill.run.status", record.status)
            seg.span.end()
            if record.status in TERMINAL_STATUSES and self.store.claim_root(run_id):
                self._root(self.store.ids(run_id), record)
        except (ControlPlaneError, redis.RedisError) as exc:
            log_failure(log, exc, "run %s: could not finish its trace", run_id)
            seg.span.end()
        self.setup.provider.force_flush()

    def _root(self, ids: RunTraceIds, record: RunRecord) -> None:
        attrs = {
            "waybill.run_id": record.run_id,
            "waybill.workflow": record.workflow,
            "waybill.run.status": record.status,
            "waybill.run.reason": record.reason or "",
            "waybill.run.user": record.user or "",
        }
        with self.setup.ids.preset(ids.trace_id, ids.root):
            span = self.tracer.start_span(
                f"run {record.workflow}",
                context=Context(),
                start_time=_ns(record.created_at),
                attributes=attrs,
            )
        if record.status != "succeeded":
            span.set_status(trace.Status(trace.StatusCode.ERROR, record.reason or record.status))
        span.end(_ns(record.updated_at))

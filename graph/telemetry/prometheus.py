"""The Prometheus metrics of a Waybill deployment, read at scrape time.

Gauges come from the control plane's records and RQ (runs by status, escalations pending,
tripped kill switches, queue depth, workers and their heartbeats); counters and the
time-to-decision histogram from what the workers counted in Redis (``state.control.metrics``).
One ``waybill metrics`` endpoint, anywhere that reaches the Redis, shows the whole deployment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import start_wsgi_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from rq import Queue, Worker

from graph.telemetry.series import RUN_STATUSES, Catalog, with_zeros
from state.control.metrics import MetricCounters, Sample
from state.control.plane import ControlPlane

COUNTERS: dict[str, str] = {
    "waybill_gate_verdicts": "Gate verdicts by workflow and decision.",
    "waybill_gate_mast": "MAST failure-mode codes tagged on gate verdicts, by code and decision.",
    "waybill_actions": "Action outcomes (executed, rejected, vetoed, skipped, unknown, aborted).",
    "waybill_human_decisions": "Human decisions taken up by runs, by escalation kind and action.",
    "waybill_system_decisions": "Decisions the system took for humans (a deadline's default, "
    "a veto window that passed), by escalation kind, action and decider.",
}
HISTOGRAMS: dict[str, str] = {
    "waybill_escalation_decision_seconds": "Time from an escalation to its human decision.",
}


class WaybillCollector(Collector):
    """Everything ``waybill metrics`` shows, collected on each scrape (a few round trips)."""

    def __init__(self, cp: ControlPlane, queue: Queue, catalog: Catalog | None = None) -> None:
        self.cp = cp
        self.queue = queue
        self.catalog: Catalog = catalog or {}

    def collect(self) -> Iterator[Metric]:
        """The metric families of this scrape."""
        yield self._runs()
        pending = GaugeMetricFamily(
            "waybill_escalations_pending", "Escalations waiting for a human decision."
        )
        pending.add_metric([], float(self.cp.escalations.count_pending()))
        yield pending
        kills = GaugeMetricFamily("waybill_kill_switches_tripped", "Kill switches tripped now.")
        kills.add_metric([], float(len(self.cp.kills.list())))
        yield kills
        depth = GaugeMetricFamily(
            "waybill_queue_depth", "Run jobs waiting on the queue.", labels=["queue"]
        )
        depth.add_metric([self.queue.name], float(self.queue.count))
        yield depth
        yield from self._workers()
        stored = MetricCounters(self.cp.client).samples()
        yield from stored_families(with_zeros(stored, self.catalog))

    def _runs(self) -> Metric:
        runs = GaugeMetricFamily(
            "waybill_runs", "Runs by workflow and status.", labels=["workflow", "status"]
        )
        for workflow in sorted({*self.catalog, *self.cp.runs.workflows()}):
            counts = {str(k): n for k, n in self.cp.runs.counts(workflow=workflow).items()}
            for status in RUN_STATUSES:
                runs.add_metric([workflow, status], float(counts.get(status, 0)))
        return runs

    def _workers(self) -> Iterator[Metric]:
        workers = Worker.all(queue=self.queue)
        alive = GaugeMetricFamily("waybill_workers", "Workers registered on the runs queue.")
        alive.add_metric([], float(len(workers)))
        yield alive
        age = GaugeMetricFamily(
            "waybill_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat (liveness).",
            labels=["worker", "state"],
        )
        now = datetime.now(UTC)
        for w in workers:
            beat = w.last_heartbeat
            if beat is None:
                continue
            beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
            age.add_metric([w.name, str(w.get_state())], max(0.0, (now - beat).total_seconds()))
        yield age


def stored_families(samples: list[Sample]) -> Iterator[Metric]:
    """The counters and histograms the workers stored, as metric families."""
    by_metric: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_metric[s.metric].append(s)
    for name, doc in COUNTERS.items():
        found = by_metric.get(name, [])
        keys = sorted({k for s in found for k in s.labels})
        family = CounterMetricFamily(name, doc, labels=keys)
        for s in found:
            family.add_metric([s.labels.get(k, "") for k in keys], s.value)
        yield family
    for name, doc in HISTOGRAMS.items():
        yield _histogram(name, doc, by_metric)


def _histogram(name: str, doc: str, by_metric: dict[str, list[Sample]]) -> Metric:
    series: dict[tuple[tuple[str, str], ...], dict[str, float]] = defaultdict(dict)
    sums: dict[tuple[tuple[str, str], ...], float] = {}
    for s in by_metric.get(f"{name}_bucket", []):
        labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series[labels][s.labels.get("le", "+Inf")] = s.value
    for s in by_metric.get(f"{name}_sum", []):
        sums[tuple(sorted(s.labels.items()))] = s.value
    keys = sorted({k for labels in series for k, _ in labels})
    family = HistogramMetricFamily(name, doc, labels=keys)
    for labels, buckets in series.items():
        ordered = sorted(
            buckets.items(), key=lambda kv: math.inf if kv[0] == "+Inf" else float(kv[0])
        )
        values = dict(labels)
        family.add_metric([values.get(k, "") for k in keys], ordered, sums.get(labels, 0.0))
    return family


def metrics_registry(
    cp: ControlPlane, queue: Queue, catalog: Catalog | None = None
) -> CollectorRegistry:
    """A registry holding only Waybill's collector (no process metrics of the scraper);
    ``catalog`` names the registered workflows and their actions, shown at zero at first."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WaybillCollector(cp, queue, catalog))
    return registry


def serve_metrics(
    cp: ControlPlane, queue: Queue, host: str, port: int, catalog: Catalog | None = None
) -> WSGIServer:
    """Serve ``/metrics`` on ``host:port`` (0: a free port) in a daemon thread."""
    server, _ = start_wsgi_server(port, host, metrics_registry(cp, queue, catalog))
    return server

"""Counters that outlive the processes that count them: what workers saw, kept in Redis.

Prometheus scrapes one endpoint (``waybill metrics``) while runs execute in many worker
processes (RQ forks one per job and it exits afterwards), so a counter in a worker's memory
would be lost with it. Each worker adds to one hash instead, ``wb:metrics``, with one pipelined
round trip per node; the endpoint reads it at scrape time.

A field is ``<metric> <labels as sorted JSON>``; histograms keep one field per bucket plus
``_sum`` and ``_count``. The hash is global (not a run's): in a Redis Cluster it lives on one
slot and every write touches only it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis

from state.control.connection import text
from state.keys import global_key

METRICS_KEY = global_key("metrics")

DECISION_BUCKETS_S: tuple[float, ...] = (5, 30, 60, 300, 900, 3600, 4 * 3600, 86400)
"""Upper bounds (seconds) of the time-to-decision histogram's buckets (``+Inf`` is added)."""


@dataclass(frozen=True)
class Sample:
    """One stored counter: a metric name, its labels and its value."""

    metric: str
    labels: dict[str, str]
    value: float


def _field(metric: str, labels: Mapping[str, str]) -> str:
    return f"{metric} {json.dumps(dict(labels), sort_keys=True)}"


def _parse(field: str, value: object) -> Sample | None:
    metric, _, labels = field.partition(" ")
    try:
        parsed = json.loads(labels) if labels else {}
        number = float(text(value))
    except ValueError:
        return None  # a field written by something else: not ours to show
    if not isinstance(parsed, dict):
        return None
    return Sample(metric, {str(k): str(v) for k, v in parsed.items()}, number)


class MetricCounters:
    """Add to and read the shared counters (a client with ``decode_responses=True``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def add(self, counts: Sequence[tuple[str, Mapping[str, str], float]]) -> None:
        """Add each ``(metric, labels, amount)`` in one round trip (nothing to add: none)."""
        if not counts:
            return
        pipe = self._r.pipeline(transaction=False)
        for metric, labels, amount in counts:
            pipe.hincrbyfloat(METRICS_KEY, _field(metric, labels), amount)
        pipe.execute()

    def observe(self, metric: str, labels: Mapping[str, str], value: float) -> None:
        """Record one observation of a histogram (cumulative buckets, sum and count)."""
        counts: list[tuple[str, Mapping[str, str], float]] = []
        for bound in (*DECISION_BUCKETS_S, float("inf")):
            if value <= bound:
                le = "+Inf" if bound == float("inf") else repr(float(bound))
                counts.append((f"{metric}_bucket", {**labels, "le": le}, 1.0))
        counts.append((f"{metric}_sum", labels, value))
        counts.append((f"{metric}_count", labels, 1.0))
        self.add(counts)

    def samples(self) -> list[Sample]:
        """Every stored counter, sorted by metric and labels."""
        raw = self._r.hgetall(METRICS_KEY)
        found = [_parse(text(k), v) for k, v in raw.items()]
        return sorted(
            (s for s in found if s is not None),
            key=lambda s: (s.metric, sorted(s.labels.items())),
        )

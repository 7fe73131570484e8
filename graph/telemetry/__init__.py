"""What runs report to the outside: OpenTelemetry traces and Prometheus metrics.

Both are built on the typed run events (``state.run_events``) and the control plane's records,
never on parsed text. The executor calls a :class:`~graph.telemetry.observer.RunObserver` at a
few points (an execution starts, a node's events are written, a human's decision is taken up,
an execution ends); :func:`~graph.telemetry.observer.default_observer` picks what observes:
counters for the metrics endpoint, and spans only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
"""

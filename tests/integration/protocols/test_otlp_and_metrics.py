"""Real processes: a worker exports a run's spans over OTLP/HTTP to a receiver started here,
and ``waybill metrics``, scraped with a plain HTTP GET, shows the counters moving."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
from rq import Queue

from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from tests.integration.protocols.otlp_receiver import attributes, otlp_receiver
from tests.integration.runtime import (
    APPROVER,
    ROOT,
    WorkerProcess,
    wait_for,
    wait_status,
    worker_env,
)
from tests.redis_servers import ServerUnderTest
from tests.unit.conftest import example

pytestmark = pytest.mark.integration
TERMINAL = {"succeeded", "failed", "rejected", "killed"}


def _service(url: str) -> tuple[RunService, ControlPlane]:
    cp = ControlPlane.from_url(url)
    queue = Queue("waybill", connection=redis.Redis.from_url(url))

    def enqueue(run_id: str) -> None:
        enqueue_run(queue, run_id)

    return RunService(cp, Registry(), enqueue), cp


def scrape(url: str) -> dict[str, float]:
    """``{'name{labels}': value}`` of every sample of a plain GET of ``url``."""
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - a loopback URL
        assert reply.status == 200
        body = reply.read().decode()
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, number = line.rpartition(" ")
            samples[name] = float(number)
    return samples


def test_spans_reach_a_real_otlp_receiver_with_the_gates_mast_codes(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp = _service(server.url)
    with otlp_receiver() as (endpoint, received):
        worker = WorkerProcess(
            server.url, tmp_path, "traced", env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        )
        try:
            record = svc.submit(
                "procurement", example("small_order"), who=APPROVER, inject="bad_extraction"
            )
            assert wait_status(cp, record.run_id, TERMINAL, timeout=60).status == "succeeded"
            wait_for(lambda: received.named("run procurement"), 15, "the run's root span")
        finally:
            worker.stop()
    assert set(received.paths) == {"/v1/traces"}
    gates = received.named("gate intake->inventory")
    revise = [attributes(s) for s in gates if attributes(s)["waybill.gate.decision"] == "revise"]
    assert revise, [attributes(s) for s in gates]
    assert revise[0]["waybill.gate.mast"] == ["FM-1.1"]
    assert "quantity_in_request" in revise[0]["waybill.gate.failed_checks"]  # type: ignore[operator]
    [root] = received.named("run procurement")
    assert attributes(root)["waybill.run_id"] == record.run_id
    assert {s.trace_id for s in received.spans} == {root.trace_id}
    assert received.named("action place_order")


def metrics_endpoint(url: str, tmp: Path) -> tuple[subprocess.Popen[str], str]:
    """``waybill metrics`` on a free port of its own (on Redis ``url``), and where it serves."""
    endpoint = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "metrics", "--port", "0"],
        env=worker_env(url, tmp),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert endpoint.stdout is not None
    line = endpoint.stdout.readline()
    found = re.search(r"(http://\S+/metrics)", line)
    if found is None:
        endpoint.kill()
        pytest.fail(f"waybill metrics did not say where it serves: {line!r}")
    return endpoint, found.group(1)


def test_the_metrics_endpoint_shows_the_counters_moving(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp = _service(server.url)
    endpoint, url = metrics_endpoint(server.url, tmp_path)
    worker = WorkerProcess(server.url, tmp_path, "counted")
    try:
        before = scrape(url)
        assert before["waybill_workers"] >= 0
        record = svc.submit(
            "procurement", example("small_order"), who=APPROVER, inject="bad_extraction"
        )
        assert wait_status(cp, record.run_id, TERMINAL, timeout=60).status == "succeeded"
        after = scrape(url)
    finally:
        worker.stop()
        endpoint.terminate()
        stopped = endpoint.communicate(timeout=10)[0]
    assert endpoint.returncode == 0, stopped  # SIGTERM is its normal end
    assert "Traceback" not in stopped
    revised = 'waybill_gate_verdicts_total{decision="revise",workflow="procurement"}'
    mast = 'waybill_gate_mast_total{code="FM-1.1",decision="revise",workflow="procurement"}'
    executed = (
        'waybill_actions_total{action="place_order",status="executed",workflow="procurement"}'
    )
    succeeded = 'waybill_runs{status="succeeded",workflow="procurement"}'
    for name in (revised, mast, executed, succeeded):
        assert after.get(name, 0) == before.get(name, 0) + 1, name
    passed = 'waybill_gate_verdicts_total{decision="pass",workflow="procurement"}'
    assert after[passed] >= before.get(passed, 0) + 5
    assert after["waybill_workers"] >= 1
    assert 'waybill_queue_depth{queue="waybill"}' in after
    assert "waybill_escalations_pending" in after

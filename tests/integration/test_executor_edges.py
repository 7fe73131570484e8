"""An execution's edges outside its nodes: a workflow this worker does not have, Redis lost
while the run's lease is taken, a lease taken over while a node runs. Each ends in a line."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from redis.backoff import NoBackoff
from redis.retry import Retry

from graph.runtime.executor import ExecutorConfig
from graph.runtime.registry import Registry
from state.checkpoint.client import sync_client
from state.control.connection import connect
from state.control.plane import ControlPlane
from tests.integration.runtime import APPROVER, Executors, service, wait_for
from tests.redis_servers import ServerUnderTest


def test_a_run_of_a_workflow_this_worker_does_not_have_fails_and_says_why(
    redis_url: str, executors: Executors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    svc, cp, raw = service(redis_url)
    run_id = svc.submit("steps", {"job_id": "elsewhere"}, who=APPROVER).run_id
    bare = Registry()  # the reference workflows only: no `steps` on this "worker"
    executor = executors(cp, raw, bare, worker="w-without", config=ExecutorConfig())
    assert executor.execute(run_id) == "failed"
    record = cp.runs.get(run_id)
    assert record.status == "failed"
    reason = record.reason or ""
    assert "worker w-without has no workflow 'steps'" in reason
    assert "WAYBILL_WORKFLOW_MODULES" in reason
    assert cp.leases.current(run_id) is None  # released: nothing left for a sweeper to re-queue
    assert executor.execute(run_id) == "failed"  # a job that comes again finds it over


def test_redis_lost_as_the_lease_is_taken_is_waited_out(
    server: ServerUnderTest, executors: Executors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clients here do not retry, so the outage reaches the executor before any node."""
    monkeypatch.setenv("REDIS_URL", server.url)
    svc, _, _ = service(server.url)
    run_id = svc.submit("steps", {"job_id": "begin-outage"}, who=APPROVER).run_id
    cp = ControlPlane(connect(server.url, retries=0))
    raw = sync_client(server.url, retry=Retry(NoBackoff(), 0))
    config = ExecutorConfig(redis_outage_s=30)
    executor = executors(cp, raw, svc.registry, worker="w", config=config)
    server.stop()
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(executor.execute(run_id)))
    thread.start()
    time.sleep(2)
    server.start()
    thread.join(timeout=60)
    assert result == ["succeeded"]
    assert ControlPlane.from_url(server.url).runs.get(run_id).status == "succeeded"


def test_a_lease_taken_over_mid_node_is_said_once_not_a_traceback_a_tick(
    redis_url: str,
    executors: Executors,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    svc, cp, raw = service(redis_url)
    run_id = svc.submit("steps", {"job_id": "taken", "sleep_s": 3.0}, who=APPROVER).run_id
    config = ExecutorConfig(lease_ttl_s=0.6)  # renewed every 0.2 s
    executor = executors(cp, raw, svc.registry, worker="w", config=config)
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(executor.execute(run_id)))
    with caplog.at_level(logging.WARNING):
        thread.start()
        wait_for(lambda: cp.runs.get(run_id).stage == "slow", 20, "the slow stage")
        cp.leases.acquire(run_id, "w", 30)  # as a sweeper's re-queue would: a new token
        thread.join(timeout=30)
    assert result == ["lease-lost"]
    said = [r.getMessage() for r in caplog.records if r.name == "graph.runtime.hardstop"]
    assert said == [f"run {run_id}: lease lost to another worker; stopped renewing"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

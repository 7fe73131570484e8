"""Replay of runs whose action's outcome was unknown: the replay meets the same question the
run met (the call's intent without a result) and replays the recorded answer, instead of
simulating the action as done and reporting a run that succeeded."""

from __future__ import annotations

import contextlib

import redis

from graph.act import WorkerCrash
from graph.runtime.executor import ExecutorConfig
from graph.runtime.registry import Registry
from graph.runtime.replay import replay_run
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from tests.integration.runtime import Executors
from tests.integration.test_replay import ANA, BOB, SMALL
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff


def test_a_run_whose_order_had_an_unknown_outcome_replays_to_the_same_answer(
    server: ServerUnderTest, executors: Executors
) -> None:
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    registry = Registry()
    service = RunService(cp, registry, lambda run_id: None, raw=raw)
    add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
    run_id = service.submit("procurement", SMALL, who=ANA, inject="crash_after_order").run_id
    with contextlib.suppress(WorkerCrash):  # the worker "dies" after the order was placed
        executors(cp, raw, registry, worker="a", config=ExecutorConfig()).execute(run_id)
    resumed = executors(cp, raw, registry, worker="b", config=ExecutorConfig())
    assert resumed.execute(run_id) == "waiting"  # outcome unknown: a human is asked
    [esc] = [e for e in cp.escalations.for_run(run_id) if e.pending]
    service.decide(esc.escalation_id, "reject", who=BOB)
    assert resumed.execute(run_id) == "rejected"
    report = replay_run(cp, raw, registry, run_id)
    assert report.recorded_status == report.replayed_status == "rejected", report.divergences
    assert report.divergences == []

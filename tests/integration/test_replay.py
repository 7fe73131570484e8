"""Replay of runs recorded on Redis by the executor (a worker's code path), with a model."""

from __future__ import annotations

import json
from dataclasses import replace

import redis

from agents.llm import use_brain
from agents.procurement.chain import build_chain
from graph.runtime.executor import ExecutorConfig
from graph.runtime.principal import Principal
from graph.runtime.registry import Registry
from graph.runtime.replay import replay_run, side_by_side
from graph.runtime.service import RunService
from state.budgets import Budgets
from state.control.plane import ControlPlane
from tests.fakes import FakeChatModel, rules_mirror
from tests.integration.runtime import ROOT, Executors
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff

ANA = Principal("ana", "admin")
BOB = Principal("bob", "approver")
"""Approves ana's orders: a member of finance (ana started them: four eyes)."""
EXAMPLES = ROOT / "agents" / "procurement" / "examples"
SMALL = json.loads((EXAMPLES / "small_order.json").read_text())


def _desk(server: ServerUnderTest) -> tuple[ControlPlane, redis.Redis, Registry, RunService]:
    """A control plane, a raw client, the default registry and a run service queueing nowhere
    (the tests execute runs inline)."""
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    registry = Registry()
    return cp, raw, registry, RunService(cp, registry, lambda run_id: None, raw=raw)


def _tight_procurement() -> Registry:
    registry = Registry()
    registry.register(lambda: replace(build_chain(), budgets=Budgets(max_steps=3)))
    return registry


def test_failed_run_replays_exactly_with_zero_model_calls(
    server: ServerUnderTest, executors: Executors
) -> None:
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    registry = _tight_procurement()
    service = RunService(cp, registry, lambda run_id: None, raw=raw)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    run_id = service.submit("procurement", SMALL, who=ANA).run_id
    model = FakeChatModel(responder=rules_mirror(build_chain(), build_chain().sources()))
    with use_brain(model):
        assert executor.execute(run_id) == "failed"
    assert len(model.calls) >= 3
    counting = FakeChatModel(responder=rules_mirror(build_chain(), build_chain().sources()))
    with use_brain(counting):
        report = replay_run(cp, raw, registry, run_id)
    assert len(counting.calls) == 0
    assert report.recorded_status == report.replayed_status == "failed"
    assert report.divergences == []
    assert report.identical


def test_replay_after_a_resume_uses_the_first_answers(
    server: ServerUnderTest, executors: Executors
) -> None:
    """Resuming re-runs the interrupted node: it must not ask the model again."""
    cp = ControlPlane.from_url(server.url)
    raw = redis.Redis.from_url(server.url)
    registry = Registry()
    dispatched: list[str] = []
    service = RunService(cp, registry, dispatched.append, raw=raw)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    large = json.loads(
        (ROOT / "agents" / "procurement" / "examples" / "large_order.json").read_text()
    )
    run_id = service.submit("procurement", large, who=ANA).run_id
    model = FakeChatModel(responder=rules_mirror(build_chain(), build_chain().sources()))
    with use_brain(model):
        assert executor.execute(run_id) == "waiting"
        calls_before = len(model.calls)
        [esc] = cp.escalations.for_run(run_id)
        add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
        service.decide(esc.escalation_id, "approve", who=BOB)
        assert executor.execute(run_id) == "succeeded"
    assert len(model.calls) == calls_before  # place_order re-ran without a second model call
    with use_brain(FakeChatModel()):
        report = replay_run(cp, raw, registry, run_id)
    assert report.identical, report.divergences


def test_a_run_waiting_for_a_decision_replays_to_the_same_question(
    server: ServerUnderTest,
    executors: Executors,
) -> None:
    """A waiting run's replay stops, undecided, where the run waits (it reported a divergence:
    'no human decision was recorded'); once decided, the replay goes through the decision. A
    replay that reaches a question the run never asked still diverges."""
    cp, raw, registry, service = _desk(server)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    large = json.loads((EXAMPLES / "large_order.json").read_text())
    run_id = service.submit("procurement", large, who=ANA).run_id
    assert executor.execute(run_id) == "waiting"
    report = replay_run(cp, raw, registry, run_id)
    assert (report.recorded_status, report.replayed_status) == ("waiting", "waiting")
    assert report.identical, report.divergences
    assert report.replayed == report.recorded
    [esc] = cp.escalations.for_run(run_id)
    add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
    service.decide(esc.escalation_id, "approve", who=BOB)
    assert executor.execute(run_id) == "succeeded"
    report = replay_run(cp, raw, registry, run_id)
    assert (report.replayed_status, report.identical) == ("succeeded", True)
    assert "action place_order [approve]: executed" in report.replayed
    small = service.submit("procurement", SMALL, who=ANA).run_id
    assert executor.execute(small) == "succeeded"
    lower = replay_run(cp, raw, registry, small, limits={"amount_over_limit": 1.0})
    assert lower.replayed_status == "diverged"
    assert "no human decision was recorded" in lower.divergences[0]


def test_a_world_changed_by_a_fault_is_the_same_world_after_a_resume(
    server: ServerUnderTest,
    executors: Executors,
) -> None:
    """Sources that change during a run keep their state in Redis: a resume elsewhere sees it."""
    cp, raw, registry, service = _desk(server)
    large = json.loads(
        (ROOT / "agents" / "procurement" / "examples" / "large_order.json").read_text()
    )
    run_id = service.submit("procurement", large, who=ANA, inject="stale_inventory").run_id
    first = executors(cp, raw, registry, worker="first", config=ExecutorConfig())
    assert first.execute(run_id) == "waiting"  # stock moved (v2), re-read, now awaiting approval
    [esc] = cp.escalations.for_run(run_id)
    add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
    service.decide(esc.escalation_id, "approve", who=BOB)
    second = executors(cp, raw, registry, worker="second", config=ExecutorConfig())
    assert second.execute(run_id) == "succeeded"  # its fresh sources were bound to the run's
    assert cp.runs.get(run_id).worker == "second"


def test_replay_through_changed_gates_shows_both_runs_side_by_side(
    server: ServerUnderTest,
    executors: Executors,
) -> None:
    """A gate made stricter since: the replay says what it would have done to the run."""
    cp, raw, registry, service = _desk(server)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    run_id = service.submit("procurement", SMALL, who=ANA).run_id
    assert executor.execute(run_id) == "succeeded"
    same = replay_run(cp, raw, registry, run_id)
    assert same.identical
    assert all(equal for _, _, equal in side_by_side(same.recorded, same.replayed))
    stricter = replace(build_chain(), budgets=Budgets(max_steps=3))
    report = replay_run(cp, raw, registry, run_id, chain=stricter)
    assert (report.recorded_status, report.replayed_status) == ("succeeded", "failed")
    rows = side_by_side(report.recorded, report.replayed)
    changed = [(a, b) for a, b, equal in rows if not equal]
    assert any(a.startswith("status succeeded") for a, _ in changed)
    assert any(b.startswith("status failed") for _, b in changed)
    assert any(a.startswith("action place_order [auto]: executed") for a, _ in changed)
    assert [a for a, _, _ in rows if a] == report.recorded  # nothing lost on either side
    assert [b for _, b, _ in rows if b] == report.replayed


def test_a_killed_run_replays_to_where_the_kill_stopped_it(
    server: ServerUnderTest, executors: Executors
) -> None:
    """A run killed at its question replays to that question and stops there, killed (it
    reported 'replayed waiting'); a run killed before its first step has nothing to replay (it
    reported a divergence: its tape has no first answer)."""
    cp, raw, registry, service = _desk(server)
    executor = executors(cp, raw, registry, worker="t", config=ExecutorConfig())
    large = json.loads((EXAMPLES / "large_order.json").read_text())
    waiting = service.submit("procurement", large, who=ANA).run_id
    assert executor.execute(waiting) == "waiting"
    queued = service.submit("procurement", SMALL, who=ANA).run_id
    service.kill("run", waiting, who=ANA, reason="wrong supplier")
    service.kill("run", queued, who=ANA, reason="not needed")
    at_question = replay_run(cp, raw, registry, waiting)
    assert (at_question.recorded_status, at_question.replayed_status) == ("killed", "killed")
    assert at_question.identical, at_question.divergences
    assert at_question.replayed == at_question.recorded
    unstarted = replay_run(cp, raw, registry, queued)
    assert (unstarted.replayed_status, unstarted.identical) == ("killed", True)
    tight = _tight_procurement().fresh("procurement")  # fails before the question
    changed = replay_run(cp, raw, registry, waiting, chain=tight)
    assert (changed.replayed_status, changed.identical) == ("failed", False)

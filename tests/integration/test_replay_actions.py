"""Runs whose action's outcome is unknown (a worker died in the call): the resumed run asks a
human, also after an approval; its replay meets the same question (the call's intent without a
result) and replays the recorded answer, instead of simulating the action as done."""

from __future__ import annotations

import json

from graph.runtime.executor import ExecutorConfig
from graph.runtime.replay import replay_run
from tests.integration.runtime import Executors
from tests.integration.test_replay import ANA, BOB, EXAMPLES, SMALL, _desk
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff

LARGE = json.loads((EXAMPLES / "large_order.json").read_text())


def test_a_run_whose_order_had_an_unknown_outcome_replays_to_the_same_answer(
    server: ServerUnderTest, executors: Executors
) -> None:
    cp, raw, registry, service = _desk(server)
    add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
    run_id = service.submit("procurement", SMALL, who=ANA, inject="crash_after_order").run_id
    resumed = executors(cp, raw, registry, worker="a", config=ExecutorConfig())
    # The worker "dies" after the order was placed; it goes on as the next worker would:
    # outcome unknown, a human is asked.
    assert resumed.execute(run_id) == "waiting"
    [esc] = [e for e in cp.escalations.for_run(run_id) if e.pending]
    service.decide(esc.escalation_id, "reject", who=BOB)
    assert resumed.execute(run_id) == "rejected"
    report = replay_run(cp, raw, registry, run_id)
    assert report.recorded_status == report.replayed_status == "rejected", report.divergences
    assert report.divergences == []


def test_an_approved_order_whose_call_crashed_asks_whether_it_was_done(
    server: ServerUnderTest, executors: Executors
) -> None:
    """Approved at its tier, the order is placed and the worker dies before recording it: the
    resumed run asks a human (outcome unknown), it does not wait on the approval again."""
    cp, raw, registry, service = _desk(server)
    add_staff(cp, {"bob": "approver"}, {"bob": ["finance"]})
    run_id = service.submit("procurement", LARGE, who=ANA, inject="crash_after_order").run_id
    first = executors(cp, raw, registry, worker="a", config=ExecutorConfig())
    assert first.execute(run_id) == "waiting"  # the approval tier's question
    [esc] = [e for e in cp.escalations.for_run(run_id) if e.pending]
    service.decide(esc.escalation_id, "approve", who=BOB)
    # One execution, as the decision's resume job on a worker: the crash inside it is gone on
    # from as the next worker would, answering the approval again from its decided escalation.
    assert first.execute(run_id) == "waiting"
    [unknown] = [e for e in cp.escalations.for_run(run_id) if e.pending]
    assert str(unknown.request["scope"]).startswith("unknown|place_order|")
    assert len(raw.hkeys(f"wb:{{{run_id}}}:actions")) == 1  # one call, its outcome unknown

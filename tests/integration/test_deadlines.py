"""Decision deadlines on real workers: a reminder first, then the safe default, also after the
workers and Redis restarted; never an approval."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from graph.runtime.principal import NotInGroup
from graph.runtime.webhooks import SIGNATURE, TIMESTAMP, verify
from state.control.models import Escalation
from state.control.plane import ControlPlane
from tests.integration.humans import (
    CONSOLE_URL,
    SECRET,
    payment,
    service,
    webhooks,
    who,
    worker,
)
from tests.integration.runtime import wait_for, wait_status
from tests.receiver import Received, Receiver
from tests.redis_servers import ServerUnderTest


def _pending(cp: ControlPlane, run_id: str) -> Escalation:
    (esc,) = [e for e in cp.escalations.for_run(run_id) if e.pending]
    return esc


def _signed(request: Received) -> dict[str, object]:
    """The body of a request whose signature verifies (as the receiver must check it)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert verify(SECRET, headers[TIMESTAMP.lower()], request.body, headers[SIGNATURE.lower()])
    return request.json()


def test_a_deadline_passes_after_workers_and_redis_restarted_reminded_first(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    with Receiver() as hook:
        hooks = webhooks({"name": "ops", "url": hook.url, "secret": SECRET})
        svc, cp = service(server.url)
        first = worker(server.url, tmp_path, "before", hooks)
        run = svc.submit("approvals", payment(500, "times-out"), who=who("sam"))
        wait_status(cp, run.run_id, {"waiting"})
        esc = _pending(cp, run.run_id)
        assert esc.deadline is not None
        assert esc.deadline.then == "reject"
        wait_for(lambda: hook.events("escalation_created"), 15, "the escalation's webhook")
        first.stop()
        cp.close()
        server.restart()  # AOF: the escalation, its deadline and the scheduled jobs survive
        second = worker(server.url, tmp_path, "after", hooks)
        try:
            svc, cp = service(server.url)
            done = wait_status(cp, run.run_id, {"rejected", "succeeded", "failed"}, timeout=45)
            wait_for(lambda: hook.events("deadline_passed"), 15, "the deadline's webhook")
        finally:
            second.stop()
    assert done.status == "rejected"
    decided = cp.escalations.get(esc.escalation_id)
    assert decided.decision is not None
    assert (decided.decision.user, decided.decision.action) == ("system:deadline", "reject")
    assert cp.client.hget("test:transfers", str(payment(500, "times-out")["payee"])) is None
    [audited] = cp.audit.list(action="escalation.reject", target=run.run_id)
    assert audited.actor == "system:deadline"
    [reminder] = hook.events("reminder")
    [passed] = hook.events("deadline_passed")
    order = [r.headers["X-Waybill-Event"] for r in hook.received]
    assert order.index("reminder") < order.index("deadline_passed")
    reminded, expired = _signed(reminder), _signed(passed)
    assert esc.deadline.remind_at is not None
    reminded_at = datetime.fromisoformat(str(reminded["at"]))
    assert esc.deadline.remind_at <= reminded_at < esc.deadline.due_at
    assert datetime.fromisoformat(str(expired["at"])) >= esc.deadline.due_at
    assert expired["outcome"] == "rejected by default"
    assert expired["link"] == f"{CONSOLE_URL}/inbox?esc={esc.escalation_id}"


def test_a_hold_leaves_the_run_waiting_visibly_and_unreminded(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    with Receiver() as hook:
        svc, cp = service(server.url)
        w = worker(server.url, tmp_path, "w", webhooks({"name": "ops", "url": hook.url}))
        try:
            run = svc.submit("approvals", payment(400, "hold"), who=who("sam"))
            wait_status(cp, run.run_id, {"waiting"})
            esc = _pending(cp, run.run_id)
            held = wait_for(lambda: cp.escalations.get(esc.escalation_id).held_at, 20, "the hold")
            assert held is not None
            wait_for(lambda: hook.events("deadline_passed"), 15, "the deadline's webhook")
            assert cp.runs.get(run.run_id).status == "waiting"  # held, not decided
            [passed] = hook.events("deadline_passed")
            assert str(passed.json()["outcome"]).startswith("held")
            assert len(hook.events("reminder")) == 1
            assert cp.audit.list(action="escalation.hold", target=run.run_id)
            # A held question can still be answered, by the group that owns it.
            svc.decide(esc.escalation_id, "approve", who=who("pia"), comment="late but fine")
            done = wait_status(cp, run.run_id, {"succeeded", "rejected", "failed"})
            assert done.status == "succeeded"
            assert len(hook.events("reminder")) == 1  # none after the hold
        finally:
            w.stop()


def test_a_handover_gives_the_question_to_the_backup_group(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp = service(server.url)
    w = worker(server.url, tmp_path, "w", webhooks())
    try:
        runs = [
            svc.submit("approvals", payment(300 + i, "handover"), who=who("sam")) for i in (0, 1)
        ]
        for run in runs:
            wait_status(cp, run.run_id, {"waiting"})
        answered, lapsed = (_pending(cp, r.run_id) for r in runs)
        moved = wait_for(
            lambda: cp.escalations.get(answered.escalation_id).handed_over_from, 20, "a handover"
        )
        assert moved == "payments"
        now = cp.escalations.get(answered.escalation_id)
        assert now.group == "finance-leads"
        assert now.deadline is not None
        assert (now.deadline.round, now.deadline.then) == (2, "reject")
        with pytest.raises(NotInGroup, match="pia is not in group 'finance-leads'"):
            svc.decide(answered.escalation_id, "approve", who=who("pia"))
        svc.decide(answered.escalation_id, "approve", who=who("lea"))
        assert wait_status(cp, runs[0].run_id, {"succeeded", "rejected"}).status == "succeeded"
        # Nobody in the backup group decides either: its own default (reject) applies.
        last = wait_status(cp, runs[1].run_id, {"succeeded", "rejected"}, timeout=30)
        assert last.status == "rejected"
        decided = cp.escalations.get(lapsed.escalation_id).decision
        assert decided is not None
        assert decided.user == "system:deadline"
        assert [e.actor for e in cp.audit.list(action="escalation.handover")] == [
            "system:deadline",
            "system:deadline",
        ]
    finally:
        w.stop()

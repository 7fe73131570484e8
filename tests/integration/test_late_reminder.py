"""A reminder whose job runs after its deadline (no worker was up in time) is not sent: the
deadline's own notice says what happened instead."""

from __future__ import annotations

import time

from graph.runtime.deadlines import remind
from graph.runtime.service import RunService
from state.control.models import EscalationTerms
from state.control.plane import ControlPlane
from state.decisions import DecisionDeadline
from tests.integration.humans import payment, service, who
from tests.redis_servers import ServerUnderTest


def _waiting(svc: RunService, cp: ControlPlane, after_s: float) -> tuple[str, str]:
    run = svc.submit("approvals", payment(after_s, "late"), who=who("sam"))
    cp.runs.update(run.run_id, status="running")
    cp.runs.update(run.run_id, status="waiting")
    deadline = DecisionDeadline(after_s=after_s, then="reject", remind_before_s=after_s / 2)
    terms = EscalationTerms(group="payments", deadline=deadline)
    esc = cp.escalations.create(run.run_id, "gate", {"what": "pay"}, terms=terms)
    return run.run_id, esc.escalation_id


def test_a_reminder_after_its_deadline_is_skipped_one_before_is_sent(
    server: ServerUnderTest,
) -> None:
    svc, cp = service(server.url)
    try:
        late_run, late = _waiting(svc, cp, after_s=0.2)
        on_time_run, on_time = _waiting(svc, cp, after_s=600)
        time.sleep(0.3)  # the first one's deadline passed; nobody reminded anyone
        assert remind(svc, late_run, late, 1) is False
        assert cp.notices.get(f"esc:{late}:remind:1") is None
        assert remind(svc, on_time_run, on_time, 1) is True
        sent = cp.notices.get(f"esc:{on_time}:remind:1")
        assert sent is not None
        assert sent.notice.kind == "reminder"
    finally:
        cp.close()

"""What the inbox says about who decides an escalation and by when (countdowns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.ui.escalation_meta import deadline_line, deciders_line, span, veto_countdown
from state.control.models import Approval, Escalation, EscalationDeadline, RunRecord
from state.decisions import DecisionDeadline

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def _esc(**fields: object) -> Escalation:
    base: dict[str, object] = {
        "escalation_id": "r.1",
        "run_id": "r",
        "kind": "action",
        "created_at": NOW,
        "group": "finance",
    }
    return Escalation.model_validate(base | fields)


def _run(user: str) -> RunRecord:
    return RunRecord(
        run_id="r", workflow="w", status="waiting", user=user, created_at=NOW, updated_at=NOW
    )


def test_spans() -> None:
    assert [span(s) for s in (-3, 45, 185, 7800)] == ["0s", "45s", "3m 05s", "2h 10m"]


def test_who_decides_with_approvals_and_four_eyes() -> None:
    esc = _esc(
        approvals_needed=2,
        four_eyes=True,
        approvals=[Approval(user="bob", at=NOW)],
    )
    assert deciders_line(esc, _run("ana")) == (
        "decided by: group finance; 2 approvals needed, 1 so far (bob); "
        "four eyes: ana (who started the run) may not approve"
    )
    assert deciders_line(_esc(group=None), None) == "decided by: any approver"
    edited = _esc(four_eyes=True, request={"authors": ["cy"]})
    assert deciders_line(edited, _run("ana")) == (
        "decided by: group finance; four eyes: ana (who started the run) may not approve; "
        "nor cy (edited what it acts on)"
    )


def test_a_deadline_counts_down_and_says_what_happens_then() -> None:
    policy = DecisionDeadline(after_s=600, then="handover", backup_group="leads")
    deadline = EscalationDeadline(
        due_at=NOW + timedelta(seconds=185), then="handover", policy=policy
    )
    esc = _esc(deadline=deadline)
    assert deadline_line(esc, NOW) == (
        "decide within 3m 05s (by 12:03:05 UTC); then: handed over to group leads"
    )
    assert deadline_line(esc, NOW + timedelta(seconds=200)) == (
        "deadline passed at 12:03:05 UTC: handed over to group leads"
    )
    held = _esc(deadline=deadline, held_at=NOW)
    assert (deadline_line(held, NOW) or "").startswith("HELD since 2030-01-01 12:00:00 UTC")


def test_a_veto_window_counts_down() -> None:
    ends = NOW + timedelta(seconds=12)
    veto = _esc(kind="veto", request={"deadline": ends.isoformat()})
    assert veto_countdown(veto, NOW) == (
        "veto window: the action runs in 12s unless vetoed (at 12:00:12 UTC)"
    )
    assert (veto_countdown(veto, NOW + timedelta(seconds=13)) or "").startswith("veto window over")
    assert veto_countdown(_esc(), NOW) is None

"""What the inbox says about who decides an escalation and by when (countdowns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.ui.escalation_meta import (
    Staffing,
    deadline_line,
    deciders_line,
    meta_lines,
    span,
    veto_countdown,
)
from state.control.models import Approval, Decision, Escalation, EscalationDeadline, RunRecord
from state.decisions import DecisionDeadline
from state.status import RunStatus

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


def _run(user: str, status: RunStatus = "waiting") -> RunRecord:
    return RunRecord(
        run_id="r", workflow="w", status=status, user=user, created_at=NOW, updated_at=NOW
    )


def _due_in(seconds: float) -> EscalationDeadline:
    policy = DecisionDeadline(after_s=600, then="handover", backup_group="leads")
    return EscalationDeadline(
        due_at=NOW + timedelta(seconds=seconds), then="handover", policy=policy
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


def test_countdowns_only_while_it_can_be_decided() -> None:
    open_one = _esc(deadline=_due_in(185))
    assert meta_lines(open_one, _run("ana"), NOW)[1].startswith("decide within 3m 05s")
    decided = _esc(
        deadline=_due_in(185),
        decision=Decision(action="approve", user="bob", decided_at=NOW),
    )
    assert meta_lines(decided, _run("ana"), NOW) == ["decided by: group finance"]
    held = _esc(deadline=_due_in(-5), held_at=NOW, decision=decided.decision)
    assert meta_lines(held, _run("ana", "succeeded"), NOW) == ["decided by: group finance"]
    ends = (NOW + timedelta(seconds=12)).isoformat()
    veto = _esc(kind="veto", request={"deadline": ends})
    ended: tuple[tuple[RunStatus, str], ...] = (
        ("killed", "was killed"),
        ("failed", "failed"),
        ("rejected", "was rejected"),
    )
    for status, said in ended:
        assert meta_lines(open_one, _run("ana", status), NOW) == [
            "decided by: group finance",
            f"the run {said}: this escalation can no longer be decided",
        ]
        assert "veto window" not in " ".join(meta_lines(veto, _run("ana", status), NOW))


def test_a_group_with_nobody_to_decide_says_who_may_then() -> None:
    esc = _esc(group="buyers")
    empty = frozenset({"buyers"})
    assert deciders_line(esc, None, Staffing(empty, admin_fallback=True)) == (
        "decided by: group buyers, which has no members who may decide: admins may "
        "(the admin fallback)"
    )
    assert deciders_line(esc, None, Staffing(empty, admin_fallback=False)) == (
        "decided by: group buyers, which has no members who may decide: nobody can while the "
        "admin fallback is off (WAYBILL_ADMIN_FALLBACK)"
    )
    assert deciders_line(esc, None, Staffing(frozenset({"finance"}))) == "decided by: group buyers"
    killed = meta_lines(esc, _run("ana", "killed"), NOW, Staffing(empty))
    assert killed[0] == "decided by: group buyers"  # nobody decides it any more anyway

"""Escalations against real servers: first decision wins, conflicts name the winner."""

from __future__ import annotations

import threading
import uuid

import pytest

from state.control.connection import connect
from state.control.errors import (
    EscalationConflict,
    InvalidArgument,
    RunFinished,
    UnknownEscalation,
    UnknownRun,
)
from state.control.models import Escalation, EscalationAction
from state.control.plane import ControlPlane
from state.status import RunStatus

pytestmark = pytest.mark.integration


def new_run(cp: ControlPlane, status: RunStatus = "waiting") -> str:
    run_id = f"esc-run-{uuid.uuid4().hex[:10]}"
    cp.runs.create(run_id, "procurement")
    if status != "queued":
        cp.runs.update(run_id, status="running")
    if status not in ("queued", "running"):
        cp.runs.update(run_id, status=status)
    return run_id


def test_create_get_and_pending(cp: ControlPlane) -> None:
    run_id = new_run(cp)
    esc = cp.escalations.create(
        run_id, "approve_order", {"amount": 1200, "items": ["laptop"]}, stage="order"
    )
    assert esc.pending
    assert esc.version == 1
    assert esc.request["amount"] == 1200
    assert cp.escalations.get(esc.escalation_id) == esc
    assert esc.escalation_id in {e.escalation_id for e in cp.escalations.list_pending(limit=10000)}
    again = cp.escalations.create(run_id, "other", {}, escalation_id=esc.escalation_id)
    assert again == esc  # idempotent: a re-run node does not reset it
    assert [e.escalation_id for e in cp.escalations.for_run(run_id)] == [esc.escalation_id]

    decided = cp.escalations.decide(
        esc.escalation_id, "edit", user="ana", comment="cheaper", edited={"amount": 900}
    )
    assert decided.decision is not None
    assert (decided.decision.action, decided.decision.user) == ("edit", "ana")
    assert decided.decision.edited == {"amount": 900}
    assert decided.version == 2
    pending = {e.escalation_id for e in cp.escalations.list_pending(limit=10000)}
    assert esc.escalation_id not in pending
    kinds = [e.kind for e in cp.events.read(run_id)]
    assert kinds[-2:] == ["escalation_created", "escalation_decided"]


def test_twenty_concurrent_deciders_one_winner(redis_url: str) -> None:
    setup = ControlPlane(connect(redis_url))
    run_id = new_run(setup)
    esc = setup.escalations.create(run_id, "approve_order", {"amount": 5000})
    barrier = threading.Barrier(20)
    wins: list[Escalation] = []
    conflicts: list[EscalationConflict] = []
    errors: list[BaseException] = []

    def decide(i: int) -> None:
        plane = ControlPlane(connect(redis_url))
        try:
            barrier.wait()
            action: EscalationAction = "approve" if i % 2 else "reject"
            wins.append(plane.escalations.decide(esc.escalation_id, action, user=f"user{i}"))
        except EscalationConflict as exc:
            conflicts.append(exc)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            plane.close()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(wins) == 1
    assert len(conflicts) == 19
    decision = wins[0].decision
    assert decision is not None
    assert all(c.decided_by == decision.user and c.action == decision.action for c in conflicts)
    assert decision.user in str(conflicts[0])
    assert decision.decided_at.isoformat() in str(conflicts[0])
    stored = setup.escalations.get(esc.escalation_id)
    assert stored.decision == decision
    assert stored.version == 2
    setup.close()


@pytest.mark.parametrize("final", ["killed", "succeeded", "failed", "rejected"])
def test_decision_on_finished_run_refused(cp: ControlPlane, final: RunStatus) -> None:
    run_id = new_run(cp)
    esc = cp.escalations.create(run_id, "approve_order", {})
    if final == "succeeded":
        cp.runs.update(run_id, status="running")
    cp.runs.update(run_id, status=final, reason="stopped by ops")
    with pytest.raises(RunFinished, match=f"already {final}"):
        cp.escalations.decide(esc.escalation_id, "approve", user="ana")
    assert cp.escalations.get(esc.escalation_id).pending
    # a pending escalation of a finished run no longer shows in the inbox
    assert esc.escalation_id not in {e.escalation_id for e in cp.escalations.list_pending()}
    with pytest.raises(RunFinished):
        cp.escalations.create(run_id, "approve_order", {})


def test_unknown_and_invalid(cp: ControlPlane) -> None:
    with pytest.raises(UnknownEscalation, match="unknown escalation 'nope-"):
        cp.escalations.decide(f"nope-{uuid.uuid4().hex}", "approve", user="ana")
    with pytest.raises(UnknownEscalation):
        cp.escalations.get(f"nope-{uuid.uuid4().hex}")
    with pytest.raises(UnknownRun):
        cp.escalations.create(f"no-run-{uuid.uuid4().hex}", "approve_order", {})
    run_id = new_run(cp)
    esc = cp.escalations.create(run_id, "approve_order", {})
    with pytest.raises(ValueError, match="edited payload"):
        cp.escalations.decide(esc.escalation_id, "edit", user="ana")
    with pytest.raises(ValueError, match="deciding user"):
        cp.escalations.decide(esc.escalation_id, "approve", user="")
    with pytest.raises(ValueError, match="unknown action"):
        cp.escalations.decide(esc.escalation_id, "maybe", user="ana")  # type: ignore[arg-type]


def test_a_late_loser_is_told_the_winner_even_after_the_run_ended(cp: ControlPlane) -> None:
    """The winner's decision ends the run; a decision arriving after that still names them."""
    run_id = new_run(cp)
    esc = cp.escalations.create(run_id, "approve_order", {})
    cp.escalations.decide(esc.escalation_id, "reject", user="ana")
    cp.runs.update(run_id, status="rejected", reason="rejected by ana")
    with pytest.raises(EscalationConflict, match="already decided \\(reject\\) by 'ana'"):
        cp.escalations.decide(esc.escalation_id, "approve", user="bob")
    with pytest.raises(InvalidArgument, match="deciding user"):
        cp.escalations.decide(esc.escalation_id, "approve", user="   ")

"""Run service rules against a real Redis: roles, edits, late and duplicate decisions."""

from __future__ import annotations

import pytest

from graph.runtime.principal import EditInvalid, Forbidden, NothingToStop, ScopeKilled, ServiceError
from graph.runtime.service import RunService
from state.control.errors import EscalationConflict, RunFinished, UnknownEscalation, UnknownRun
from state.control.plane import ControlPlane
from tests.integration.runtime import ADMIN, APPROVER, VIEWER, service
from tests.redis_servers import ServerUnderTest


class Recorded:
    def __init__(self) -> None:
        self.dispatched: list[str] = []

    def __call__(self, run_id: str) -> None:
        self.dispatched.append(run_id)


def _svc(server: ServerUnderTest) -> tuple[RunService, ControlPlane, Recorded]:
    svc, cp, _ = service(server.url)
    recorded = Recorded()
    svc.dispatch = recorded
    return svc, cp, recorded


def _waiting_escalation(svc: RunService, cp: ControlPlane, kind: str = "gate") -> tuple[str, str]:
    record = svc.submit("steps", {"job_id": "e1"}, who=APPROVER)
    cp.runs.update(record.run_id, status="running")
    cp.runs.update(record.run_id, status="waiting")
    esc = cp.escalations.create(
        record.run_id,
        kind,
        {
            "kind": kind,
            "stage": "slow",
            "what": "check this",
            "proposed": {"job_id": "e1"},
            "allowed": ["approve", "edit", "reject"] if kind == "gate" else ["approve", "reject"],
        },
        stage="slow",
    )
    return record.run_id, esc.escalation_id


def test_submit_registers_queues_and_audits(server: ServerUnderTest) -> None:
    svc, cp, recorded = _svc(server)
    record = svc.submit("steps", {"job_id": "a"}, who=APPROVER)
    assert recorded.dispatched == [record.run_id]
    assert cp.runs.get(record.run_id).status == "queued"
    [entry] = cp.audit.list(action="run.start")
    assert (entry.actor, entry.target) == ("april", record.run_id)


def test_viewer_cannot_start_decide_or_kill_and_is_audited(server: ServerUnderTest) -> None:
    svc, cp, _ = _svc(server)
    run_id, esc_id = _waiting_escalation(svc, cp)
    with pytest.raises(Forbidden, match="vic \\(viewer\\) may not start a run"):
        svc.submit("steps", {"job_id": "b"}, who=VIEWER)
    with pytest.raises(Forbidden, match="may not approve an escalation"):
        svc.decide(esc_id, "approve", who=VIEWER)
    with pytest.raises(Forbidden, match="may not trip a kill switch"):
        svc.kill("run", run_id, who=VIEWER, reason="x")
    with pytest.raises(Forbidden):
        svc.kill("global", None, who=APPROVER, reason="x")  # approvers do not kill
    assert cp.escalations.get(esc_id).pending
    assert cp.kills.list() == []
    denied = cp.audit.list(action="denied")
    assert [d.actor for d in denied].count("vic") == 3


def test_first_decision_wins_and_the_second_names_the_winner(server: ServerUnderTest) -> None:
    svc, cp, recorded = _svc(server)
    run_id, esc_id = _waiting_escalation(svc, cp)
    svc.decide(esc_id, "approve", who=APPROVER, comment="fine")
    assert recorded.dispatched[-1] == run_id
    with pytest.raises(EscalationConflict, match="april"):
        svc.decide(esc_id, "reject", who=ADMIN)
    decision = cp.escalations.get(esc_id).decision
    assert decision is not None
    assert decision.action == "approve"


def test_refusals_for_the_state_of_the_run_are_audited_too(server: ServerUnderTest) -> None:
    """A late decision and one on a killed run are refused and audited as ``denied`` with why,
    as refusals for who asks are (they left no trace)."""
    svc, cp, _ = _svc(server)
    run_id, esc_id = _waiting_escalation(svc, cp)
    svc.decide(esc_id, "approve", who=APPROVER)
    with pytest.raises(EscalationConflict):
        svc.decide(esc_id, "reject", who=ADMIN)
    killed, open_id = _waiting_escalation(svc, cp)
    svc.kill("run", killed, who=ADMIN, reason="wrong supplier")
    with pytest.raises(RunFinished):
        svc.decide(open_id, "approve", who=APPROVER)
    entries = cp.audit.list(action="denied")[::-1]  # oldest first
    denied = [(d.actor, d.target, d.details["attempted"]) for d in entries]
    assert denied == [
        ("ada", run_id, f"reject escalation {esc_id}"),
        ("april", killed, f"approve escalation {open_id}"),
    ]
    whys = [d.details["why"] for d in entries]
    assert "was already decided (approve) by 'april'" in whys[0]
    assert "is already killed" in whys[1]
    assert cp.audit.verify().ok


def test_a_late_decision_after_the_run_ended_names_the_winner(server: ServerUnderTest) -> None:
    """The second approver of a run that finished meanwhile learns who decided, not only that
    the run is over."""
    svc, cp, _ = _svc(server)
    run_id, esc_id = _waiting_escalation(svc, cp)
    svc.decide(esc_id, "approve", who=APPROVER)
    cp.runs.update(run_id, status="running")
    cp.runs.update(run_id, status="succeeded")
    with pytest.raises(EscalationConflict, match="'april'"):
        svc.decide(esc_id, "approve", who=ADMIN)
    decision = cp.escalations.get(esc_id).decision
    assert decision is not None
    assert decision.user == "april"


def test_an_invalid_edit_is_refused_with_field_errors_and_nothing_recorded(
    server: ServerUnderTest,
) -> None:
    svc, cp, recorded = _svc(server)
    run_id, esc_id = _waiting_escalation(svc, cp)
    with pytest.raises(EditInvalid) as info:
        svc.decide(esc_id, "edit", who=APPROVER, edited={"job_id": 5, "surprise": True})
    assert info.value.errors == {
        "job_id": "Input should be a valid string",
        "surprise": "Extra inputs are not permitted",
    }
    assert cp.escalations.get(esc_id).pending
    assert recorded.dispatched == [run_id]  # only the submit
    svc.decide(esc_id, "edit", who=APPROVER, edited={"job_id": "e1", "sleep_s": 0})
    decision = cp.escalations.get(esc_id).decision
    assert decision is not None
    assert decision.edited == {
        "job_id": "e1",
        "sleep_s": 0.0,
        "amount": 10.0,
        "notify": False,
        "note": "",
    }


def test_edit_is_refused_where_only_approve_or_reject_are_allowed(
    server: ServerUnderTest,
) -> None:
    svc, cp, _ = _svc(server)
    _, esc_id = _waiting_escalation(svc, cp, kind="action")
    with pytest.raises(ServiceError, match="'edit' is not allowed here"):
        svc.decide(esc_id, "edit", who=APPROVER, edited={})


def test_unknown_things_are_clear_errors(server: ServerUnderTest) -> None:
    svc, cp, _ = _svc(server)
    with pytest.raises(UnknownEscalation):
        svc.decide("no-such-escalation", "approve", who=APPROVER)
    with pytest.raises(UnknownRun):
        svc.kill("run", "no-such-run", who=ADMIN, reason="x")
    with pytest.raises(UnknownRun):
        cp.runs.get("no-such-run")


def test_a_killed_workflow_refuses_new_runs_until_cleared(server: ServerUnderTest) -> None:
    svc, cp, _ = _svc(server)
    queued = svc.submit("steps", {"job_id": "q"}, who=APPROVER)
    assert svc.kill("workflow", "steps", who=ADMIN, reason="bad deploy") == 1
    assert cp.runs.get(queued.run_id).status == "killed"
    with pytest.raises(ScopeKilled, match="bad deploy"):
        svc.submit("steps", {"job_id": "r"}, who=APPROVER)
    assert svc.unkill("workflow", "steps", who=ADMIN)
    assert cp.runs.get(queued.run_id).status == "killed"  # clearing does not revive
    svc.submit("steps", {"job_id": "r"}, who=APPROVER)
    actions = [e.action for e in cp.audit.list()]
    assert "kill.trip" in actions
    assert "kill.clear" in actions
    assert cp.audit.verify().ok


def test_a_switch_that_would_stop_nothing_is_refused(server: ServerUnderTest) -> None:
    """A kill or hold naming a workflow or stage nothing knows, or a run that is over, would stop
    nothing while the operator believes it stopped something: it is refused (naming the known
    ones) and nothing is tripped. A workflow known only from its runs (not registered in this
    process) is accepted."""
    svc, cp, _ = _svc(server)
    queued = svc.submit("steps", {"job_id": "typo"}, who=APPROVER)
    with pytest.raises(NothingToStop, match=r"unknown workflow 'stepz' \(known: .*steps"):
        svc.kill("workflow", "stepz", who=ADMIN, reason="bad deploy")
    with pytest.raises(NothingToStop, match="no workflow has a stage 'slw'"):
        svc.hold("agent", "slw", who=ADMIN, reason="supplier down")
    with pytest.raises(UnknownRun):
        svc.hold("run", "no-such-run", who=ADMIN, reason="x")
    assert cp.kills.list(kind=None) == []
    assert cp.runs.get(queued.run_id).status == "queued"
    svc.hold("agent", "slow", who=ADMIN, reason="a real stage")
    assert [(s.scope, s.target) for s in cp.kills.list(kind="hold")] == [("agent", "slow")]
    cp.runs.create("only-in-redis", "retired_workflow")
    assert svc.kill("workflow", "retired_workflow", who=ADMIN, reason="old runs") == 1
    assert cp.runs.get("only-in-redis").status == "killed"  # a run that is over: no switch
    for trip in (svc.kill, svc.hold):
        with pytest.raises(NothingToStop, match="run only-in-redis is already killed"):
            trip("run", "only-in-redis", who=ADMIN, reason="too late")
    assert not any(s.scope == "run" for s in cp.kills.list(kind=None))

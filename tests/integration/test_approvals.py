"""Who may decide, on a real Redis: approver groups, the admin fallback, four eyes, M of N.

Runs of ``tests.workflows.approvals`` execute in this process (``RunExecutor``) up to their
question; decisions go through the run service, as the console and the CLI send them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace

import pytest
import redis

from graph.chain import Chain
from graph.runtime.deciding import decides
from graph.runtime.eligibility import who_may_decide
from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.principal import FourEyes, NotInGroup, Principal
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.budgets import Budgets
from state.control.errors import DuplicateApproval, EscalationConflict
from state.control.models import Escalation
from state.control.plane import ControlPlane
from state.roles import Role
from state.run_events import ActionRecorded, node_updates
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff
from tests.workflows import approvals

FINANCE = [f"f{i}" for i in range(1, 7)]
ROLES: dict[str, Role] = {
    "ada": "admin",
    "sam": "approver",
    "pia": "approver",
    "olga": "approver",
    "vic": "viewer",
    **dict.fromkeys(FINANCE, "approver"),
}
GROUPS = {"sam": ["payments"], "pia": ["payments"], "olga": ["ops"]} | {
    name: ["finance"] for name in FINANCE
}


def who(name: str) -> Principal:
    return Principal(name, ROLES[name], via="tests")


@dataclass
class Desk:
    """A run service (dispatching nowhere: the test executes runs itself) on the test's Redis."""

    url: str
    admin_fallback: bool = True
    dispatched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cp = ControlPlane.from_url(self.url)
        self.raw = redis.Redis.from_url(self.url)
        self.registry = Registry()
        self.registry.register(approvals.build_chain)
        self.svc = RunService(
            self.cp,
            self.registry,
            self.dispatched.append,
            raw=self.raw,
            admin_fallback=self.admin_fallback,
        )

    def execute(self, run_id: str) -> str:
        with closing(
            RunExecutor(self.cp, self.raw, self.registry, worker="test", config=ExecutorConfig())
        ) as executor:
            return executor.execute(run_id)

    def start(self, amount: float, note: str = "", by: str = "sam") -> Escalation:
        """A run of ``by``'s payment, executed to its question; the pending escalation."""
        request = {"payee": f"payee-{amount}-{note}", "amount": amount, "note": note}
        run = self.svc.submit("approvals", request, who=who(by))
        assert self.execute(run.run_id) == "waiting"
        (esc,) = [e for e in self.cp.escalations.for_run(run.run_id) if e.pending]
        return esc

    def transfers(self, esc: Escalation) -> int:
        count = self.cp.client.hget("test:transfers", esc.request["proposed"]["payee"])
        return int(count or 0)

    def close(self) -> None:
        self.cp.close()
        self.raw.close()


@pytest.fixture
def desk(server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("REDIS_URL", server.url)  # the workflow's ledger lives there
    made = Desk(server.url)
    add_staff(made.cp, ROLES, GROUPS)
    yield made
    made.close()


def _denied(cp: ControlPlane, actor: str) -> list[str]:
    return [str(e.details.get("why")) for e in cp.audit.list(action="denied", actor=actor)]


def test_only_a_member_of_the_owning_group_decides(desk: Desk) -> None:
    esc = desk.start(5_000)
    assert esc.group == "payments"
    with pytest.raises(NotInGroup) as refused:
        desk.svc.decide(esc.escalation_id, "approve", who=who("olga"))
    assert str(refused.value) == (
        f"olga is not in group 'payments', which decides escalation {esc.escalation_id}: "
        "nothing was decided"
    )
    with pytest.raises(NotInGroup):
        desk.svc.decide(esc.escalation_id, "reject", who=who("olga"))  # not even a reject
    assert desk.cp.escalations.get(esc.escalation_id).pending
    assert len(_denied(desk.cp, "olga")) == 2
    decided = desk.svc.decide(esc.escalation_id, "approve", who=who("pia"), comment="ok")
    assert decided.decision is not None
    assert decided.decision.user == "pia"
    assert desk.execute(esc.run_id) == "succeeded"
    assert desk.transfers(esc) == 1
    [entry] = desk.cp.audit.list(action="escalation.approve", target=esc.run_id)
    assert entry.actor == "pia"
    assert entry.details["as"] == "member of payments"
    assert entry.details["via"] == "tests"


def test_the_admin_fallback_is_audited_and_can_be_switched_off(
    desk: Desk, server: ServerUnderTest
) -> None:
    esc = desk.start(5_000)
    desk.svc.decide(esc.escalation_id, "approve", who=who("ada"))
    [entry] = desk.cp.audit.list(action="escalation.approve", target=esc.run_id)
    assert (entry.actor, entry.details["as"]) == ("ada", "admin fallback")
    strict = Desk(server.url, admin_fallback=False)
    try:
        other = strict.start(5_000)
        with pytest.raises(NotInGroup, match="ada is not in group 'payments'"):
            strict.svc.decide(other.escalation_id, "approve", who=who("ada"))
        assert strict.cp.escalations.get(other.escalation_id).pending
    finally:
        strict.close()


def test_four_eyes_refuses_the_runs_starter_with_a_clear_message(desk: Desk) -> None:
    esc = desk.start(5_000, by="sam")
    assert esc.four_eyes
    with pytest.raises(FourEyes) as refused:
        desk.svc.decide(esc.escalation_id, "approve", who=who("sam"))
    assert str(refused.value) == (
        f"four eyes: sam started run {esc.run_id} and may not approve the action of stage "
        "'pay'; another member of payments must"
    )
    assert "four eyes" in _denied(desk.cp, "sam")[0]
    assert desk.cp.escalations.get(esc.escalation_id).pending
    desk.svc.decide(esc.escalation_id, "reject", who=who("sam"), comment="withdrawn")
    assert desk.execute(esc.run_id) == "rejected"  # stopping one's own run is always allowed
    assert desk.transfers(esc) == 0


def _race(desk: Desk, esc: Escalation, names: list[str]) -> list[Escalation | Exception]:
    """Each named approver approves at once, from a thread and a service of their own."""
    start = threading.Barrier(len(names))
    results: list[Escalation | Exception] = [RuntimeError("not run")] * len(names)
    desks = [Desk(desk.url) for _ in names]

    def approve(i: int) -> None:
        start.wait()
        try:
            results[i] = desks[i].svc.decide(esc.escalation_id, "approve", who=who(names[i]))
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    desk.dispatched += [run for d in desks for run in d.dispatched]
    for d in desks:
        d.close()
    return results


def test_two_of_finance_with_concurrent_deciders_commit_once(desk: Desk) -> None:
    esc = desk.start(60_000, by="sam")
    assert (esc.group, esc.approvals_needed) == ("finance", 2)
    results = _race(desk, esc, FINANCE)
    escalations = [r for r in results if isinstance(r, Escalation)]
    conflicts = [r for r in results if isinstance(r, EscalationConflict)]
    assert len(escalations) == 2, results
    assert len(conflicts) == 4, results
    deciders = [n for n, r in zip(FINANCE, results, strict=True) if isinstance(r, Escalation)]
    mine = [decides(e, n) for e, n in zip(escalations, deciders, strict=True)]
    assert sorted(mine) == [False, True]
    assert desk.dispatched == [esc.run_id, esc.run_id]  # the start, and one commit
    final = desk.cp.escalations.get(esc.escalation_id)
    assert final.decision is not None
    assert len(final.approvals) == 2
    assert final.decision.user == final.approvals[-1].user  # the second approval decided
    for lost in conflicts:
        assert lost.decided_by == final.decision.user
    audit = desk.cp.audit.list(target=esc.run_id, limit=100)
    assert [e.action for e in audit].count("escalation.approval") == 1
    assert [e.action for e in audit].count("escalation.approve") == 1
    assert desk.execute(esc.run_id) == "succeeded"
    assert desk.transfers(esc) == 1
    actions = [
        a.record
        for update in node_updates(desk.cp.events.read(esc.run_id))
        for a in update.of_kind(ActionRecorded)
    ]
    [done] = [a for a in actions if a.status == "executed"]
    assert done.decided_by == ", ".join(a.user for a in final.approvals)  # both of them


def test_a_duplicate_approval_is_refused_even_at_once(desk: Desk) -> None:
    esc = desk.start(70_000, by="sam")
    results = _race(desk, esc, ["f1"] * 5)
    partial = [r for r in results if isinstance(r, Escalation)]
    duplicates = [r for r in results if isinstance(r, DuplicateApproval)]
    assert len(partial) == 1, results
    assert len(duplicates) == 4, results
    assert str(duplicates[0]) == (
        f"f1 already approved escalation {esc.escalation_id!r} (1 of 2 approvals so far): "
        "another approver must give the next one"
    )
    current = desk.cp.escalations.get(esc.escalation_id)
    assert current.pending
    assert [a.user for a in current.approvals] == ["f1"]
    assert desk.dispatched == [esc.run_id]  # the start only: nothing committed
    assert len(_denied(desk.cp, "f1")) == 4
    desk.svc.decide(esc.escalation_id, "approve", who=who("f2"))
    assert desk.execute(esc.run_id) == "succeeded"


def test_a_reject_by_any_member_ends_an_approval_of_several(desk: Desk) -> None:
    esc = desk.start(80_000, by="sam")
    first = desk.svc.decide(esc.escalation_id, "approve", who=who("f1"))
    assert first.decision is None
    assert len(first.approvals) == 1
    rejected = desk.svc.decide(esc.escalation_id, "reject", who=who("f2"), comment="no")
    assert rejected.decision is not None
    assert rejected.decision.action == "reject"
    with pytest.raises(EscalationConflict, match="already decided \\(reject\\) by 'f2'"):
        desk.svc.decide(esc.escalation_id, "approve", who=who("f3"))
    assert desk.execute(esc.run_id) == "rejected"
    assert desk.transfers(esc) == 0
    assert "rejected by f2" in (desk.cp.runs.get(esc.run_id).reason or "")


def test_four_eyes_refuses_who_edited_what_the_action_acts_on(desk: Desk) -> None:
    """pia fixes sam's payment at the gate; the transfer it leads to needs someone else."""
    check = desk.start(5_000, note="check", by="sam")
    assert check.kind != "action"  # the gate asks first: the payment is marked for a check
    fixed = {"payee": "payee-fixed", "amount": 4_000.0, "note": ""}
    desk.svc.decide(check.escalation_id, "edit", who=who("pia"), edited=fixed)
    assert desk.execute(check.run_id) == "waiting"
    [esc] = [e for e in desk.cp.escalations.for_run(check.run_id) if e.pending]
    assert (esc.kind, esc.four_eyes, esc.authors) == ("action", True, ["pia"])
    assert esc.request["proposed"]["amount"] == 4_000.0
    with pytest.raises(FourEyes) as refused:
        desk.svc.decide(esc.escalation_id, "approve", who=who("pia"))
    assert str(refused.value) == (
        f"four eyes: pia edited what it acts on in run {esc.run_id} and may not approve the "
        "action of stage 'pay'; another member of payments must"
    )
    deciders = who_may_decide(desk.cp, esc, starter="sam", admin_fallback=True)
    assert (deciders.users, sorted(deciders.excluded)) == ([], ["pia", "sam"])
    desk.svc.decide(esc.escalation_id, "approve", who=who("ada"))  # the admin fallback
    assert desk.execute(esc.run_id) == "succeeded"
    assert desk.transfers(esc) == 1


def _hurried() -> Chain:
    """The approvals chain with a wall-time budget of two seconds."""
    return replace(approvals.build_chain(), budgets=Budgets(max_wall_s=2.0))


def test_time_people_take_to_decide_is_not_the_runs_wall_time(desk: Desk) -> None:
    """A question answered after the run's whole wall-time budget does not fail the next gate:
    the wait was the people's, not the run's."""
    desk.registry.register(_hurried)
    check = desk.start(500, note="check", by="sam")
    time.sleep(2.5)  # longer than the run may take in all
    fixed = {"payee": "payee-waited", "amount": 500.0, "note": ""}
    desk.svc.decide(check.escalation_id, "edit", who=who("pia"), edited=fixed)
    assert desk.execute(check.run_id) == "succeeded", desk.cp.runs.get(check.run_id).reason
    assert desk.transfers(check) == 0  # the edited payee was paid, not the first one
    assert desk.cp.client.hget("test:transfers", "payee-waited") == "1"

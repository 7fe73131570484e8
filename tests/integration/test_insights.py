"""Insights from a seeded escalation history on a real Redis: the suggestion and its numbers,
the replay proof, and adoption (admins only, audited) changing what the next run does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.insights import adopt, prove, suggestions
from graph.runtime.principal import Forbidden
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.limits import Limits
from state.control.plane import ControlPlane
from tests.integration.runtime import ADMIN, APPROVER, FINANCE, GROUPS, STAFF
from tests.orders import chairs
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff

# Chairs: 5 in stock, 85.00 each from the cheapest supplier; N asked -> (N - 5) x 85 ordered.
HISTORY = [(65, "approve"), (70, "approve"), (75, "approve"), (80, "approve"),
           (85, "approve"), (90, "approve"), (95, "reject")]  # fmt: skip


class Desk:
    """A run service and an inline executor on the test's Redis."""

    def __init__(self, url: str) -> None:
        self.cp = ControlPlane.from_url(url)
        add_staff(self.cp, STAFF, GROUPS)
        self.raw = sync_client(url)
        self.registry = Registry()
        self.svc = RunService(self.cp, self.registry, lambda run_id: None, raw=self.raw)
        self.executor = RunExecutor(
            self.cp, self.raw, self.registry, worker="t", config=ExecutorConfig()
        )

    def run(self, n: int) -> tuple[str, str]:
        """Start an order for ``n`` chairs and execute it to its first stop."""
        run_id = self.svc.submit("procurement", chairs(n), who=APPROVER).run_id
        return run_id, self.executor.execute(run_id)


@pytest.fixture
def desk(server: ServerUnderTest) -> Iterator[tuple[Desk, dict[int, str]]]:
    """The seeded history: seven orders above the 5,000 limit, decided by people."""
    desk = Desk(server.url)
    runs = {}
    for n, action in HISTORY:
        run_id, status = desk.run(n)
        assert status == "waiting"
        [esc] = desk.cp.escalations.for_run(run_id)
        desk.svc.decide(esc.escalation_id, action, who=ADMIN if action == "reject" else FINANCE)
        assert desk.executor.execute(run_id) == ("succeeded" if action == "approve" else "rejected")
        runs[n] = run_id
    yield desk, runs
    desk.executor.close()


def test_the_history_suggests_a_limit_with_its_numbers(desk: tuple[Desk, dict[int, str]]) -> None:
    d, runs = desk
    chain = d.registry.get("procurement")
    [strict] = suggestions(d.cp, chain, min_decisions=5, min_rate=0.9)
    assert (strict.rule, strict.field, strict.current) == ("amount_over_limit", "total", 5000.0)
    assert (strict.asked, strict.approved, strict.low, strict.proposed) == (6, 6, 5100.0, 7225.0)
    assert strict.text == (
        "approvers approved 6 of 6 `amount_over_limit` escalations with total between "
        "5,100.00 and 7,225.00: raise the limit from 5,000.00 to 7,225.00?"
    )
    assert sorted(strict.runs) == sorted(runs[n] for n in (65, 70, 75, 80, 85, 90))
    [loose] = suggestions(d.cp, chain, min_decisions=5, min_rate=0.8)
    assert (loose.asked, loose.approved, loose.proposed) == (7, 6, 7650.0)
    assert suggestions(d.cp, chain, min_decisions=8) == []  # not enough history


def test_the_replay_proof_shows_what_would_have_changed(
    desk: tuple[Desk, dict[int, str]],
) -> None:
    d, runs = desk
    [loose] = suggestions(d.cp, d.registry.get("procurement"), min_decisions=5, min_rate=0.8)
    proofs = {p.run_id: p for p in prove(d.cp, d.raw, d.registry, loose)}
    rejected = proofs[runs[95]]
    assert (rejected.decided, rejected.recorded, rejected.replayed) == (
        "reject by ada",
        "rejected",
        "succeeded",
    )
    assert "replay only:   action place_order [auto]: simulated" in rejected.differences
    assert rejected.assumed == 1  # the stock re-read before ordering: the run never got there
    approved = proofs[runs[65]]
    assert (approved.decided, approved.recorded, approved.replayed) == (
        "approve by bob",
        "succeeded",
        "succeeded",
    )
    assert "recorded only: action place_order [approve]: executed" in approved.differences
    assert "replay only:   action place_order [auto]: executed" in approved.differences
    assert approved.assumed == 0


def test_only_an_admin_adopts_and_the_next_run_goes_without_a_human(
    desk: tuple[Desk, dict[int, str]],
) -> None:
    d, _ = desk
    [strict] = suggestions(d.cp, d.registry.get("procurement"), min_decisions=5, min_rate=0.9)
    with pytest.raises(Forbidden, match="april \\(approver\\) may not adopt a limit"):
        adopt(d.cp, strict, APPROVER)
    assert Limits(d.cp.client).of("procurement") == {}
    adopt(d.cp, strict, ADMIN)
    assert Limits(d.cp.client).of("procurement") == {"amount_over_limit": 7225.0}
    [entry] = d.cp.audit.list(action="limit.adopt")
    assert (entry.actor, entry.target) == ("ada", "procurement:amount_over_limit")
    assert entry.details["to"] == 7225.0
    assert d.cp.audit.verify().ok
    run_id, status = d.run(80)  # 6,375: asked a human before, not any more
    assert status == "succeeded"
    assert d.cp.escalations.for_run(run_id) == []
    _, status = d.run(99)  # 8,010: still above the adopted limit
    assert status == "waiting"

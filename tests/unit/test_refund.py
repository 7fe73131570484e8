"""The refund reference workflow: clean runs under the autonomy policy, and its faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.refund.chain import build_chain
from agents.refund.domain import Payments, PolicyBook
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import RunOutcome, run_chain
from state.run_state import actions_of, verdicts_of
from tests.unit.conftest import Recorder

# Stated here, not read from the chain, so a change to the chain's declarations is caught.
EXPECTED = {
    "triage_promises": ("gate classify->extract", "FM-1.2", "domain"),
    "guessed_amount": ("gate extract->policy", "FM-2.2", "domain"),
    "policy_changed": ("gate policy->decide", "FM-3.2", "freshness"),
    "rounded_amount": ("gate policy->decide", "FM-1.4", "fidelity"),
    "deny_but_pay": ("gate decide->payout", "FM-2.6", "domain"),
    "doubled_payout": ("gate payout->END", "FM-1.4", "fidelity"),
    "policy_tightened_before_payout": ("act payout", "FM-3.2", "freshness"),
}


@pytest.fixture(autouse=True)
def _rules_brains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)


@pytest.fixture(scope="module")
def refund() -> Chain:
    return build_chain()


def ticket(chain: Chain, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


def run(chain: Chain, name: str, decide: Recorder, inject: str | None = None) -> RunOutcome:
    sources = chain.sources()
    ctx = RunContext(run_id=f"r-{name}", inject=inject, sources=sources)
    return run_chain(chain, ticket(chain, name), decide=decide, ctx=ctx, inject=inject)


@pytest.mark.parametrize(
    ("name", "tier", "rule", "paid"),
    [
        ("broken_lamp", "auto", None, 49.9),  # no amount stated: the order total is looked up
        ("desk_return", "approve", "amount_over_limit", 320.0),
        ("unsure_keyboard", "notify", "low_confidence", 89.0),
        ("late_headphones", "auto", None, 0.0),  # outside the window: denied, nothing paid
    ],
)
def test_clean_tickets_pass_every_gate_under_the_policy(
    refund: Chain, name: str, tier: str, rule: str | None, paid: float
) -> None:
    decide = Recorder("approve", user="finance-lead")
    out = run(refund, name, decide)
    assert out.status == "succeeded"
    assert all(v.decision == "pass" and not v.mast for v in verdicts_of(out.state))
    [action] = actions_of(out.state)
    assert (action.tier, action.raised_by, action.args["amount"]) == (tier, rule, paid)
    assert [a.kind for a in decide.asked] == (["action"] if tier == "approve" else [])


def test_a_rejected_large_refund_pays_nothing(refund: Chain) -> None:
    sources = refund.sources()
    ctx = RunContext(run_id="r-rej", sources=sources)
    out = run_chain(refund, ticket(refund, "desk_return"), decide=Recorder("reject"), ctx=ctx)
    assert out.status == "rejected"
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert payments.paid == {}


def test_every_declared_fault_has_an_expectation(refund: Chain) -> None:
    assert {f.name: (f.expect.name, f.expect_mast) for f in refund.faults} == {
        name: (gate, code) for name, (gate, code, _) in EXPECTED.items()
    }
    assert {f.mode for f in refund.faults} >= {"silent_error", "stale_state", "lossy_summary"}


def first_catch(out: RunOutcome, fault: str) -> None:
    """The first gate that did not pass is the expected one, with its code and check."""
    gate, code, check = EXPECTED[fault]
    verdicts = verdicts_of(out.state)
    first = next(v for v in verdicts if v.decision != "pass")
    assert (first.gate, first.decision) == (gate, "revise")
    assert code in first.mast
    assert check in {c.check for c in first.failed}
    assert all(v.decision == "pass" for v in verdicts[: verdicts.index(first)])


@pytest.mark.parametrize("fault", ["triage_promises", "guessed_amount", "rounded_amount"])
def test_fault_is_caught_at_its_handoff_and_the_run_recovers(refund: Chain, fault: str) -> None:
    out = run(refund, "broken_lamp", Recorder("approve"), inject=fault)
    first_catch(out, fault)
    assert out.status == "succeeded"


def test_a_changed_policy_is_read_again_and_decides_the_refund(refund: Chain) -> None:
    sources = refund.sources()
    ctx = RunContext(run_id="r-stale", inject="policy_changed", sources=sources)
    out = run_chain(refund, ticket(refund, "broken_lamp"), ctx=ctx, inject="policy_changed")
    first_catch(out, "policy_changed")
    assert out.status == "succeeded"
    final = out.state["handoffs"][-1]["payload"]
    # Bought 19 days before the ticket: inside the old 30-day window, outside the new 14-day one.
    assert (final["outcome"], final["refund_amount"], final["status"]) == (
        "deny",
        0.0,
        "nothing_to_pay",
    )
    book = sources["policy"]
    assert isinstance(book, PolicyBook)
    assert out.state["facts"]["policy/refunds"]["version"] == book.read("refunds").version == 2


def test_deny_but_pay_never_reaches_the_payout(refund: Chain) -> None:
    sources = refund.sources()
    ctx = RunContext(run_id="r-dbp", inject="deny_but_pay", sources=sources)
    out = run_chain(refund, ticket(refund, "broken_lamp"), ctx=ctx, inject="deny_but_pay")
    first_catch(out, "deny_but_pay")
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    # Revised to the consistent decision: paid exactly once, the decided amount.
    assert [p["amount"] for p in payments.paid.values()] == [49.9]
    assert [v.decision for v in verdicts_of(out.state)].count("revise") == 1

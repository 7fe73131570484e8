"""The refund chain: contracts, stages, gated edges, the payout action, and its faults.

classify -> extract -> policy -> decide -> payout. The policy is a source of truth that can
change under a run (freshness is re-checked before the payout); paying out is ``auto`` for a
small refund on a clear ticket, raised to ``notify`` when the classifier was unsure and to
``approve`` above the auto limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.refund.contracts import (
    PolicyCheck,
    RefundClaim,
    RefundDecision,
    RefundPaid,
    RefundTicket,
    Triage,
)
from graph.chain import (
    END,
    Action,
    Chain,
    Edge,
    Effect,
    EnvelopeRule,
    Fault,
    FaultContext,
    Invariant,
    InvariantContext,
    Stage,
)
from graph.context import Source
from state.budgets import Budgets
from state.contracts import Contract

AUTO_LIMIT = 250.0
"""Refunds above this need a human's approval."""
CONFIDENCE_FLOOR = 0.8
"""Below this classifier confidence, a payout is announced with a veto window (notify)."""

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "refund"
EXAMPLE_ORDER = ("broken_lamp", "desk_return", "unsure_keyboard", "late_headphones")
"""The first example is the one the scenario suite injects faults into."""

# --- domain invariants -----------------------------------------------------------------------

_AMOUNT = re.compile(r"(?<![\w.-])[$€£]?(\d+\.\d{2})(?![\w.])|[$€£](\d+)(?![\w.])")
_PROMISE = re.compile(
    r"\b(approved|refunded|will refund|refund (?:is|has been) (?:issued|approved)|denied|"
    r"declined|reject(?:ed)?)\b",
    re.IGNORECASE,
)


def amounts_in(text: str) -> set[float]:
    """Money amounts written in ``text`` (``49.90``, ``$50``)."""
    return {float(a or b) for a, b in _AMOUNT.findall(text)}


def triage_does_not_decide(out: Contract, ictx: InvariantContext) -> str | None:
    # Triage's role is to classify and acknowledge; deciding a refund is the decide stage's.
    assert isinstance(out, Triage)
    hit = _PROMISE.search(out.acknowledgement)
    if hit:
        return f"triage's reply to the customer decides the refund ('{hit.group(0)}'): not its role"
    return None


def order_in_ticket(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, RefundClaim)
    return None if out.order_id in out.text else f"order {out.order_id} is not in the ticket"


def stated_amount_in_ticket(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, RefundClaim)
    stated = amounts_in(out.text)
    if out.amount_basis == "stated" and stated and out.amount not in stated:
        return f"amount {out.amount} is not one the ticket states ({sorted(stated)})"
    return None


def amount_not_assumed(out: Contract, ictx: InvariantContext) -> str | None:
    # A ticket without an amount must be resolved from the order book (or by asking), never by
    # assuming one: that is a failure to ask for clarification.
    assert isinstance(out, RefundClaim)
    if not amounts_in(out.text) and out.amount_basis != "order_total":
        return (
            f"the ticket states no amount, yet {out.amount} is claimed as stated: an assumption "
            "instead of a look-up or a question to the customer"
        )
    return None


def decision_follows_findings(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, RefundDecision)
    if out.outcome == "deny" and out.refund_amount > 0:
        return f"the decision denies the refund but pays {out.refund_amount}"
    if out.outcome == "refund" and not out.eligible:
        return "the decision refunds a claim the policy check found ineligible"
    if out.outcome == "refund" and not 0 < out.refund_amount <= out.max_refund:
        return (
            f"refund {out.refund_amount} is outside what the findings allow (0, {out.max_refund}]"
        )
    return None


# --- the payout action -----------------------------------------------------------------------


def _payout_args(out: Contract) -> dict[str, Any]:
    assert isinstance(out, RefundPaid)
    return {"ticket_id": out.ticket_id, "customer_id": out.customer_id, "amount": out.refund_amount}


def _pay(out: Contract, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
    from agents.refund.domain import Payments

    assert isinstance(out, RefundPaid)
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    if out.status == "nothing_to_pay":
        return {"ref": None, "note": "refund denied: nothing paid"}
    return {"ref": payments.pay(key, out.ticket_id, out.customer_id, out.refund_amount)}


def _payments_made(sources: Mapping[str, Source]) -> list[Effect]:
    from agents.refund.domain import Payments

    payments = sources["payments"]
    return payments.effects() if isinstance(payments, Payments) else []


ISSUE_REFUND = Action(
    name="issue_refund",
    tier="auto",
    run=_pay,
    args=_payout_args,
    envelope=(
        EnvelopeRule(
            name="low_confidence",
            when=lambda out: isinstance(out, RefundPaid) and out.confidence < CONFIDENCE_FLOOR,
            raise_to="notify",
            reason=f"the classifier's confidence is below {CONFIDENCE_FLOOR}",
        ),
        EnvelopeRule(
            name="amount_over_limit",
            when=lambda out: isinstance(out, RefundPaid) and out.refund_amount > AUTO_LIMIT,
            raise_to="approve",
            reason=f"refund is above the {AUTO_LIMIT:,.0f} auto limit",
        ),
    ),
    description="Pay the refund back to the customer (irreversible; the payments API dedups "
    "on the idempotency key, so a lost outcome is simply retried).",
    retry_safe=True,
    effects=_payments_made,
)

# --- faults ----------------------------------------------------------------------------------


def _promise(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    reply = "Good news: your refund has been approved and will arrive within 3 days."
    return {**payload, "acknowledgement": reply}


def _guess_amount(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "amount": float(round(payload["amount"] + 0.1)), "amount_basis": "stated"}


def _policy_moves(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    from agents.refund.domain import PolicyBook

    book = fctx.sources["policy"]
    assert isinstance(book, PolicyBook)
    book.revise(window_days=14)  # the policy team shortened the window after our read
    return payload


def _round_amount(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "amount": float(round(payload["amount"]))}


def _deny_but_pay(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "outcome": "deny"}


def _pay_double(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "refund_amount": payload["refund_amount"] * 2}


def _policy_tightened(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    from agents.refund.domain import PolicyBook

    book = fctx.sources["policy"]
    assert isinstance(book, PolicyBook)
    book.revise(max_refund=20.0)  # finance capped refunds after the gate passed the payout
    return payload


FAULTS = (
    Fault(
        name="triage_promises",
        stage="classify",
        mode="silent_error",
        description="triage's holding reply promises a refund it has no role to decide",
        apply=_promise,
        expect_gate="gate classify->extract",
        expect_mast="FM-1.2",
    ),
    Fault(
        name="guessed_amount",
        stage="extract",
        mode="silent_error",
        description="the ticket states no amount; extract assumes one instead of looking it up",
        apply=_guess_amount,
        expect_gate="gate extract->policy",
        expect_mast="FM-2.2",
    ),
    Fault(
        name="policy_changed",
        stage="policy",
        mode="stale_state",
        description="the refund window is shortened right after the policy stage read it",
        apply=_policy_moves,
        expect_gate="gate policy->decide",
        expect_mast="FM-3.2",
    ),
    Fault(
        name="rounded_amount",
        stage="policy",
        mode="lossy_summary",
        description="the policy stage passes on the claimed amount rounded to whole units",
        apply=_round_amount,
        expect_gate="gate policy->decide",
        expect_mast="FM-1.4",
    ),
    Fault(
        name="deny_but_pay",
        stage="decide",
        mode="silent_error",
        description="decide says deny but leaves the amount in place: the payout would pay it",
        apply=_deny_but_pay,
        expect_gate="gate decide->payout",
        expect_mast="FM-2.6",
    ),
    Fault(
        name="doubled_payout",
        stage="payout",
        mode="silent_error",
        description="payout doubles the amount it was handed (the payment is not the one the "
        "decide gate checked)",
        apply=_pay_double,
        expect_gate="gate payout->END",
        expect_mast="FM-1.4",
    ),
    Fault(
        name="policy_tightened_before_payout",
        stage="payout",
        mode="stale_state",
        description="finance caps refunds between the gate's pass and the payment (auto tier)",
        apply=_policy_tightened,
        expect_gate="act payout",
        expect_mast="FM-3.2",
        when="before_action",
    ),
)

# --- the chain -------------------------------------------------------------------------------


def build_chain() -> Chain:
    """The refund chain (agents are imported here: they import these contracts)."""
    from agents.refund import agents
    from agents.refund.domain import new_sources

    return Chain(
        name="refund",
        description="Classify a refund ticket, check it against the policy, decide, pay out.",
        entry="classify",
        stages=(
            Stage("classify", agents.classify, RefundTicket, Triage, owner="support-desk"),
            Stage("extract", agents.extract, Triage, RefundClaim, owner="support-desk"),
            Stage("policy", agents.policy, RefundClaim, PolicyCheck, owner="refund-policy"),
            Stage("decide", agents.decide, PolicyCheck, RefundDecision, owner="refund-leads"),
            Stage(
                "payout",
                agents.payout,
                RefundDecision,
                RefundPaid,
                owner="finance",
                finishes=True,
                actions=(ISSUE_REFUND,),
            ),
        ),
        edges=(
            Edge(
                "classify",
                "extract",
                invariants=(
                    Invariant("triage_does_not_decide", triage_does_not_decide, ("FM-1.2",)),
                ),
            ),
            Edge(
                "extract",
                "policy",
                invariants=(
                    Invariant("order_in_ticket", order_in_ticket, ("FM-1.1",)),
                    Invariant("stated_amount_in_ticket", stated_amount_in_ticket, ("FM-1.1",)),
                    Invariant("amount_not_assumed", amount_not_assumed, ("FM-2.2",)),
                ),
            ),
            Edge("policy", "decide"),
            Edge(
                "decide",
                "payout",
                invariants=(
                    Invariant("decision_follows_findings", decision_follows_findings, ("FM-2.6",)),
                ),
            ),
            Edge("payout", END),
        ),
        budgets=Budgets(max_steps=20, max_revisions_per_edge=2, max_wall_s=300),
        faults=FAULTS,
        sources=new_sources,
        examples={
            n: EXAMPLES / f"{n}.json" for n in EXAMPLE_ORDER if (EXAMPLES / f"{n}.json").exists()
        },
    )

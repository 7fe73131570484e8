"""The refund chain: stages, gated edges, invariants, the payout action, and its faults.

classify -> extract -> policy -> decide -> payout. The policy is a source of truth that can
change under a run (freshness is re-checked before the payout); paying out is ``auto`` for a
small refund on a clear ticket, raised to ``notify`` when the classifier was unsure and to
``approve`` above the auto limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agents.refund import agents
from agents.refund.contracts import (
    PolicyCheck,
    RefundClaim,
    RefundDecision,
    RefundPaid,
    RefundTicket,
    Triage,
)
from agents.refund.domain import Payments, PolicyBook, amounts_in, new_sources
from graph import (
    END,
    Action,
    Budgets,
    Chain,
    Edge,
    Effect,
    FaultContext,
    InvariantContext,
    Json,
    Source,
    Stage,
    act_node,
    envelope,
    examples_of,
    fault,
    gate_node,
    invariant,
    source_of,
)

AUTO_LIMIT = 250.0
"""Refunds above this need a human's approval."""
CONFIDENCE_FLOOR = 0.8
"""Below this classifier confidence, a payout is announced with a veto window (notify)."""

# --- domain invariants -----------------------------------------------------------------------

_PROMISE = re.compile(
    r"\b(approved|refunded|will refund|refund (?:is|has been) (?:issued|approved)|denied|"
    r"declined|reject(?:ed)?)\b",
    re.IGNORECASE,
)


@invariant("FM-1.2")
def triage_does_not_decide(out: Triage, ictx: InvariantContext) -> str | None:
    """Triage's reply to the customer neither grants nor refuses the refund."""
    # Triage's role is to classify and acknowledge; deciding a refund is the decide stage's.
    hit = _PROMISE.search(out.acknowledgement)
    if hit:
        return f"triage's reply to the customer decides the refund ('{hit.group(0)}'): not its role"
    return None


@invariant("FM-1.1")
def order_in_ticket(out: RefundClaim, ictx: InvariantContext) -> str | None:
    """The order id is written in the ticket."""
    return None if out.order_id in out.text else f"order {out.order_id} is not in the ticket"


@invariant("FM-1.1")
def stated_amount_in_ticket(out: RefundClaim, ictx: InvariantContext) -> str | None:
    """An amount said to be stated is one of the amounts the ticket states."""
    stated = amounts_in(out.text)
    if out.amount_basis == "stated" and stated and out.amount not in stated:
        return f"amount {out.amount} is not one the ticket states ({sorted(stated)})"
    return None


@invariant("FM-2.2")
def amount_not_assumed(out: RefundClaim, ictx: InvariantContext) -> str | None:
    """A ticket without an amount gets the order's total, never an amount claimed as stated."""
    # A ticket without an amount must be resolved from the order book (or by asking), never by
    # assuming one: that is a failure to ask for clarification.
    if not amounts_in(out.text) and out.amount_basis != "order_total":
        return (
            f"the ticket states no amount, yet {out.amount} is claimed as stated: an assumption "
            "instead of a look-up or a question to the customer"
        )
    return None


@invariant("FM-2.6")
def decision_follows_findings(out: RefundDecision, ictx: InvariantContext) -> str | None:
    """The decision does what the policy check found: no payment on a denial, no refund
    of an ineligible claim, an amount within the refundable maximum."""
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


def _payout_args(out: RefundPaid) -> Json:
    return {"ticket_id": out.ticket_id, "customer_id": out.customer_id, "amount": out.refund_amount}


def _pay(out: RefundPaid, key: str, sources: Mapping[str, Source]) -> Json:
    if out.status == "nothing_to_pay":
        return {"ref": None, "note": "refund denied: nothing paid"}
    payments = source_of(sources, "payments", Payments)
    return {"ref": payments.pay(key, out.ticket_id, out.customer_id, out.refund_amount)}


def _payments_made(sources: Mapping[str, Source]) -> list[Effect]:
    return source_of(sources, "payments", Payments).effects()


@envelope("notify", f"the classifier's confidence is below {CONFIDENCE_FLOOR}")
def low_confidence(out: RefundPaid) -> bool:
    """Holds when the classifier was unsure: the payout then waits out a veto window."""
    return out.confidence < CONFIDENCE_FLOOR


@envelope("approve", f"refund is above the {AUTO_LIMIT:,.0f} auto limit")
def amount_over_limit(out: RefundPaid) -> bool:
    """Holds for a refund above ``AUTO_LIMIT``: paying it then needs a human."""
    return out.refund_amount > AUTO_LIMIT


ISSUE_REFUND = Action(
    name="issue_refund",
    tier="auto",
    run=_pay,
    args=_payout_args,
    envelope=(low_confidence, amount_over_limit),
    description="Pay the refund back to the customer (irreversible; the payments API dedups "
    "on the idempotency key, so a lost outcome is simply retried).",
    retry_safe=True,
    effects=_payments_made,
)

# --- faults ----------------------------------------------------------------------------------


@fault("classify", "silent_error", gate_node("classify", "extract"), "FM-1.2")
def triage_promises(payload: Json, fctx: FaultContext) -> Json:
    """triage's holding reply promises a refund it has no role to decide"""
    reply = "Good news: your refund has been approved and will arrive within 3 days."
    return {**payload, "acknowledgement": reply}


@fault("extract", "silent_error", gate_node("extract", "policy"), "FM-2.2")
def guessed_amount(payload: Json, fctx: FaultContext) -> Json:
    """the ticket states no amount; extract assumes one instead of looking it up"""
    return {**payload, "amount": float(round(payload["amount"] + 0.1)), "amount_basis": "stated"}


@fault("policy", "stale_state", gate_node("policy", "decide"), "FM-3.2")
def policy_changed(payload: Json, fctx: FaultContext) -> Json:
    """the refund window is shortened right after the policy stage read it"""
    source_of(fctx.sources, "policy", PolicyBook).revise(window_days=14)
    return payload


@fault("policy", "lossy_summary", gate_node("policy", "decide"), "FM-1.4")
def rounded_amount(payload: Json, fctx: FaultContext) -> Json:
    """the policy stage passes on the claimed amount rounded to whole units"""
    return {**payload, "amount": float(round(payload["amount"]))}


@fault("decide", "silent_error", gate_node("decide", "payout"), "FM-2.6")
def deny_but_pay(payload: Json, fctx: FaultContext) -> Json:
    """decide says deny but leaves the amount in place: the payout would pay it"""
    return {**payload, "outcome": "deny"}


@fault("payout", "silent_error", gate_node("payout", END), "FM-1.4")
def doubled_payout(payload: Json, fctx: FaultContext) -> Json:
    """payout doubles the amount it was handed (the payment is not the one the decide gate
    checked)"""
    return {**payload, "refund_amount": payload["refund_amount"] * 2}


@fault("payout", "stale_state", act_node("payout"), "FM-3.2", when="before_action")
def policy_tightened_before_payout(payload: Json, fctx: FaultContext) -> Json:
    """finance caps refunds between the gate's pass and the payment (auto tier)"""
    source_of(fctx.sources, "policy", PolicyBook).revise(max_refund=20.0)
    return payload


FAULTS = (
    triage_promises,
    guessed_amount,
    policy_changed,
    rounded_amount,
    deny_but_pay,
    doubled_payout,
    policy_tightened_before_payout,
)

# --- the chain -------------------------------------------------------------------------------


def build_chain() -> Chain:
    """The refund chain."""
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
                actions=(ISSUE_REFUND,),
            ),
        ),
        edges=(
            Edge("classify", "extract", invariants=(triage_does_not_decide,)),
            Edge(
                "extract",
                "policy",
                invariants=(order_in_ticket, stated_amount_in_ticket, amount_not_assumed),
            ),
            Edge("policy", "decide"),
            Edge("decide", "payout", invariants=(decision_follows_findings,)),
            Edge("payout", END),
        ),
        budgets=Budgets(max_steps=20, max_revisions_per_edge=2, max_wall_s=300),
        faults=FAULTS,
        sources=new_sources,
        examples=examples_of(
            __package__ or "agents.refund",
            first=("broken_lamp", "desk_return", "unsure_keyboard", "late_headphones"),
        ),
    )

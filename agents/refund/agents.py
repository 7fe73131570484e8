"""The refund specialists: deterministic rule brains (default) and LLM brains (``WAYBILL_MODEL``).

Agents are pure functions of their input contract and the sources they read; paying out is the
payout stage's declared action, run after any approval.
"""

from __future__ import annotations

import re
from typing import Literal

from agents.llm import llm_brain
from agents.refund.contracts import (
    PolicyCheck,
    RefundClaim,
    RefundDecision,
    RefundPaid,
    RefundTicket,
    Triage,
)
from agents.refund.domain import POLICY_KEY, amounts_in, days_between
from graph import AgentContext, AgentResult, Json, decided

Category = Literal["refund", "exchange", "complaint", "other"]

_ORDER = re.compile(r"\bORD-\d+\b")
_KEYWORDS: tuple[tuple[Category, tuple[str, ...]], ...] = (
    ("refund", ("refund", "money back", "reimburse", "returning")),
    ("exchange", ("exchange", "replace", "swap")),
    ("complaint", ("complain", "unhappy", "disappointed")),
)
_HEDGES = ("not sure", "i guess", "maybe", "?")


def _policy_context(inp: RefundClaim, ctx: AgentContext) -> Json:
    return {
        "policy": ctx.sources["policy"].read(POLICY_KEY),
        "order": ctx.sources["orders"].read(inp.order_id),
    }


def _order_context(inp: Triage, ctx: AgentContext) -> Json:
    found = _ORDER.search(inp.text)
    return {"order": ctx.sources["orders"].read(found.group(0)) if found else None}


@llm_brain(
    "Classify the customer's ticket (refund, exchange, complaint, other) with your confidence, "
    "and write a short holding reply that neither promises nor refuses anything.",
)
def classify(inp: RefundTicket, ctx: AgentContext) -> AgentResult[Triage]:
    """Classify the ticket by its keywords; hedged wording lowers the confidence."""
    text = inp.text.lower()
    hits = [(cat, [w for w in words if w in text]) for cat, words in _KEYWORDS]
    category: Category = next((cat for cat, found in hits if found), "other")
    hedges = [h for h in _HEDGES if h in text]
    confidence = round(max(0.3, 0.95 - 0.15 * len(hedges)), 2)
    triage = Triage(
        **inp.model_dump(),
        category=category,
        confidence=confidence,
        acknowledgement="Thanks for your message. We are looking into it and will reply shortly.",
    )
    return decided(
        triage,
        f"{category} ({confidence:.2f})",
        f"keywords {[w for _, f in hits for w in f]}; hedges {hedges or 'none'}",
        agent="triage",
        alternatives=[cat for cat, found in hits if found and cat != category],
        inputs_used=["text"],
        confidence=confidence,
    )


@llm_brain(
    "Extract the order id and the amount claimed. If the ticket states no amount, use the "
    "order's total from the context and set amount_basis to order_total.",
    context=_order_context,
)
def extract(inp: Triage, ctx: AgentContext) -> AgentResult[RefundClaim]:
    """Find the order and the amount; with no amount in the ticket, take the order's total."""
    order = _ORDER.search(inp.text)
    order_id = order.group(0) if order else ""
    stated = sorted(amounts_in(inp.text))
    if stated:
        amount, basis, why = stated[-1], "stated", f"the ticket states {stated[-1]}"
    else:
        total = ctx.sources["orders"].read(order_id).value if order_id else None
        amount = float(total["total"]) if total else 0.0
        basis, why = "order_total", f"no amount in the ticket: order total {amount} looked up"
    claim = RefundClaim(**inp.model_dump(), order_id=order_id, amount=amount, amount_basis=basis)
    return decided(
        claim,
        f"{order_id or '?'}: {amount}",
        why,
        agent="claim-extractor",
        alternatives=[str(a) for a in stated[:-1]],
        inputs_used=["text"] + ([] if stated else [f"orders/{order_id}"]),
    )


@llm_brain(
    "Check the claim against the order and the refund policy in the context. Copy the policy "
    "and order facts unchanged; list every finding; max_refund is 0 when ineligible.",
    context=_policy_context,
)
def policy(inp: RefundClaim, ctx: AgentContext) -> AgentResult[PolicyCheck]:
    """Check the claim against the order book and the current refund policy."""
    policy = ctx.sources["policy"].read(POLICY_KEY)
    order = ctx.sources["orders"].read(inp.order_id)
    rules: Json = policy.value or {}
    findings: list[str] = []
    if order.value is None:
        findings.append(f"no order {inp.order_id}")
    else:
        if order.value["customer_id"] != inp.customer_id:
            findings.append("the order belongs to another customer")
        days = days_between(order.value["purchased"], inp.received)
        if days > rules.get("window_days", 0):
            findings.append(
                f"bought {days} days ago, outside the {rules.get('window_days')}-day window"
            )
        if inp.amount > order.value["total"]:
            findings.append(f"claim {inp.amount} exceeds the order total {order.value['total']}")
    eligible = not findings
    cap = min(inp.amount, float(rules.get("max_refund", 0))) if eligible else 0.0
    check = PolicyCheck(
        **inp.model_dump(),
        policy=policy,
        order=order,
        eligible=eligible,
        findings=findings or ["within policy"],
        max_refund=cap,
    )
    return decided(
        check,
        "eligible" if eligible else "ineligible",
        "; ".join(check.findings) + f" (policy v{policy.version})",
        agent="policy-checker",
        inputs_used=["order_id", "amount", "received", f"policy/{POLICY_KEY}"],
    )


@llm_brain(
    "Decide: refund up to max_refund when eligible, otherwise deny with amount 0, and give "
    "the reason.",
)
def decide(inp: PolicyCheck, ctx: AgentContext) -> AgentResult[RefundDecision]:
    """Refund what the policy allows, or deny with the policy's findings as the reason."""
    outcome: Literal["refund", "deny"] = "refund" if inp.eligible else "deny"
    amount = inp.max_refund if inp.eligible else 0.0
    decision = RefundDecision(
        **inp.model_dump(), outcome=outcome, refund_amount=amount, reason="; ".join(inp.findings)
    )
    return decided(
        decision,
        f"{outcome} {amount}",
        decision.reason,
        agent="refund-decider",
        alternatives=["deny" if outcome == "refund" else "refund"],
        inputs_used=["eligible", "max_refund", "findings"],
    )


@llm_brain(
    "Prepare the payout: status paid when the decision refunds a positive amount, else "
    "nothing_to_pay.",
)
def payout(inp: RefundDecision, ctx: AgentContext) -> AgentResult[RefundPaid]:
    """Prepare the payout (paying is the stage's action, after any approval)."""
    paid = RefundPaid(
        **{name: getattr(inp, name) for name in RefundPaid.model_fields if name != "status"},
        status="paid" if inp.outcome == "refund" and inp.refund_amount > 0 else "nothing_to_pay",
    )
    return decided(
        paid,
        paid.status,
        f"{inp.outcome} {inp.refund_amount} to {inp.customer_id}",
        agent="payout-clerk",
        inputs_used=["outcome", "refund_amount", "customer_id"],
    )

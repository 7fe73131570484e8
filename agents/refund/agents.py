"""The refund specialists: deterministic rule brains (default) and LLM brains (``WAYBILL_MODEL``).

Agents are pure functions of their input contract and the sources they read; paying out is the
payout stage's declared action, run after any approval.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agents.llm import LlmSpec, with_llm_brain
from agents.refund.contracts import (
    PolicyCheck,
    RefundClaim,
    RefundDecision,
    RefundPaid,
    RefundTicket,
    Triage,
)
from agents.refund.domain import POLICY_KEY, amounts_in, days_between
from graph.agent import AgentContext, AgentResult
from state.decisions import DecisionRecord

Category = Literal["refund", "exchange", "complaint", "other"]

_ORDER = re.compile(r"\bORD-\d+\b")
_KEYWORDS: tuple[tuple[Category, tuple[str, ...]], ...] = (
    ("refund", ("refund", "money back", "reimburse", "returning")),
    ("exchange", ("exchange", "replace", "swap")),
    ("complaint", ("complain", "unhappy", "disappointed")),
)
_HEDGES = ("not sure", "i guess", "maybe", "?")


def classify_rules(inp: RefundTicket, ctx: AgentContext) -> AgentResult[Triage]:
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
    return AgentResult(
        triage,
        DecisionRecord(
            agent="triage",
            chosen=f"{category} ({confidence:.2f})",
            alternatives=[cat for cat, found in hits if found and cat != category],
            rationale=f"keywords {[w for _, f in hits for w in f]}; hedges {hedges or 'none'}",
            inputs_used=["text"],
            confidence=confidence,
        ),
    )


def extract_rules(inp: Triage, ctx: AgentContext) -> AgentResult[RefundClaim]:
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
    return AgentResult(
        claim,
        DecisionRecord(
            agent="claim-extractor",
            chosen=f"{order_id or '?'}: {amount}",
            alternatives=[str(a) for a in stated[:-1]],
            rationale=why,
            inputs_used=["text"] + ([] if stated else [f"orders/{order_id}"]),
        ),
    )


def policy_rules(inp: RefundClaim, ctx: AgentContext) -> AgentResult[PolicyCheck]:
    """Check the claim against the order book and the current refund policy."""
    policy = ctx.sources["policy"].read(POLICY_KEY)
    order = ctx.sources["orders"].read(inp.order_id)
    rules: dict[str, Any] = policy.value or {}
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
    return AgentResult(
        check,
        DecisionRecord(
            agent="policy-checker",
            chosen="eligible" if eligible else "ineligible",
            rationale="; ".join(check.findings) + f" (policy v{policy.version})",
            inputs_used=["order_id", "amount", "received", f"policy/{POLICY_KEY}"],
        ),
    )


def decide_rules(inp: PolicyCheck, ctx: AgentContext) -> AgentResult[RefundDecision]:
    """Refund what the policy allows, or deny with the policy's findings as the reason."""
    outcome: Literal["refund", "deny"] = "refund" if inp.eligible else "deny"
    amount = inp.max_refund if inp.eligible else 0.0
    decision = RefundDecision(
        **inp.model_dump(), outcome=outcome, refund_amount=amount, reason="; ".join(inp.findings)
    )
    return AgentResult(
        decision,
        DecisionRecord(
            agent="refund-decider",
            chosen=f"{outcome} {amount}",
            alternatives=["deny" if outcome == "refund" else "refund"],
            rationale=decision.reason,
            inputs_used=["eligible", "max_refund", "findings"],
        ),
    )


def payout_rules(inp: RefundDecision, ctx: AgentContext) -> AgentResult[RefundPaid]:
    """Prepare the payout (paying is the stage's action, after any approval)."""
    paid = RefundPaid(
        **{name: getattr(inp, name) for name in RefundPaid.model_fields if name != "status"},
        status="paid" if inp.outcome == "refund" and inp.refund_amount > 0 else "nothing_to_pay",
    )
    return AgentResult(
        paid,
        DecisionRecord(
            agent="payout-clerk",
            chosen=paid.status,
            rationale=f"{inp.outcome} {inp.refund_amount} to {inp.customer_id}",
            inputs_used=["outcome", "refund_amount", "customer_id"],
        ),
    )


def _policy_context(inp: RefundClaim, ctx: AgentContext) -> dict[str, Any]:
    return {
        "policy": ctx.sources["policy"].read(POLICY_KEY),
        "order": ctx.sources["orders"].read(inp.order_id),
    }


def _order_context(inp: Triage, ctx: AgentContext) -> dict[str, Any]:
    found = _ORDER.search(inp.text)
    return {"order": ctx.sources["orders"].read(found.group(0)) if found else None}


classify = with_llm_brain(
    classify_rules,
    LlmSpec(
        "Classify the customer's ticket (refund, exchange, complaint, other) with your confidence, "
        "and write a short holding reply that neither promises nor refuses anything.",
    ),
)
extract = with_llm_brain(
    extract_rules,
    LlmSpec(
        "Extract the order id and the amount claimed. If the ticket states no amount, use the "
        "order's total from the context and set amount_basis to order_total.",
        _order_context,
    ),
)
policy = with_llm_brain(
    policy_rules,
    LlmSpec(
        "Check the claim against the order and the refund policy in the context. Copy the policy "
        "and order facts unchanged; list every finding; max_refund is 0 when ineligible.",
        _policy_context,
    ),
)
decide = with_llm_brain(
    decide_rules,
    LlmSpec(
        "Decide: refund up to max_refund when eligible, otherwise deny with amount 0, and give "
        "the reason.",
    ),
)
payout = with_llm_brain(
    payout_rules,
    LlmSpec(
        "Prepare the payout: status paid when the decision refunds a positive amount, else "
        "nothing_to_pay.",
    ),
)

"""The refund workflow's handoff contracts: what travels between its agents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from state.contracts import Carried, Contract, Fact


class RefundTicket(Contract):
    """A customer's message, as received."""

    ticket_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    received: date
    text: str = Field(min_length=1)


class Triage(Contract):
    """The ticket, classified, with the holding reply triage sends the customer."""

    ticket_id: Annotated[str, Carried()]
    customer_id: Annotated[str, Carried()]
    received: Annotated[date, Carried()]
    text: Annotated[str, Carried()]
    category: Literal["refund", "exchange", "complaint", "other"]
    confidence: float = Field(ge=0, le=1)
    acknowledgement: str = Field(min_length=1)


class RefundClaim(Triage):
    """What is claimed: which order, how much, and where the amount came from."""

    category: Annotated[Literal["refund", "exchange", "complaint", "other"], Carried()]
    confidence: Annotated[float, Carried()]
    acknowledgement: Annotated[str, Carried()]
    order_id: str = Field(min_length=1)
    amount: float = Field(gt=0)
    amount_basis: Literal["stated", "order_total"]


class PolicyCheck(RefundClaim):
    """The claim checked against the order and the refund policy, both read as facts."""

    order_id: Annotated[str, Carried()]
    amount: Annotated[float, Carried()]
    amount_basis: Annotated[Literal["stated", "order_total"], Carried()]
    policy: Fact
    order: Fact
    eligible: bool
    findings: list[str]
    max_refund: float = Field(ge=0)


class RefundDecision(PolicyCheck):
    """Refund or deny, and how much."""

    policy: Annotated[Fact, Carried()]
    order: Annotated[Fact, Carried()]
    eligible: Annotated[bool, Carried()]
    max_refund: Annotated[float, Carried()]
    outcome: Literal["refund", "deny"]
    refund_amount: float = Field(ge=0)
    reason: str = Field(min_length=1)


class RefundPaid(Contract):
    """The outcome: what was paid back (the paying itself is the stage's action)."""

    ticket_id: Annotated[str, Carried()]
    customer_id: Annotated[str, Carried()]
    order_id: Annotated[str, Carried()]
    confidence: Annotated[float, Carried()]
    outcome: Annotated[Literal["refund", "deny"], Carried()]
    refund_amount: Annotated[float, Carried()]
    status: Literal["paid", "nothing_to_pay"]

"""``approvals``: one payment, and every way a human decision on it can be governed (tests).

``prepare`` (owner ``payments``) hands a ``Payment`` to ``pay`` (owner ``payments``), whose
action ``transfer`` is auto below 1,000 and raised to approve above it (the ``payments``
group decides, under four eyes: neither the run's starter nor who edited the payment); a
payment noted ``check`` is looked at by ``payments`` at the gate first; above 50,000 two of
``finance`` must approve. On amounts up to 1,000 (where no other rule governs) a note picks a
decision deadline: ``times-out`` (rejected by default), ``hold`` (held), ``handover`` (handed
to ``finance-leads``, who then have their own deadline). Every transfer is counted in the
test's Redis once per idempotency key, so a test sees it happened once, or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from graph import (
    END,
    Action,
    AgentContext,
    AgentResult,
    Chain,
    Contract,
    DecisionDeadline,
    Edge,
    InvariantContext,
    Json,
    Source,
    Stage,
    decided,
    envelope,
    invariant,
)
from state.contracts import Fact
from state.settings import get_settings
from tests.workflows.witness import apply_once

TIMES_OUT = DecisionDeadline(after_s=10, then="reject", remind_before_s=5)
HOLD = DecisionDeadline(after_s=3, then="hold", remind_before_s=1.5)
HANDOVER = DecisionDeadline(
    after_s=3, then="handover", backup_group="finance-leads", backup_then="reject"
)


class Payment(Contract):
    payee: str
    amount: float
    note: str = ""


class Ledger:
    """Counts transfers in the test's Redis, once per idempotency key."""

    name = "ledger"

    def __init__(self) -> None:
        url = get_settings().redis_url
        assert url is not None, "the approvals workflow needs REDIS_URL"
        self.r = redis.Redis.from_url(url.get_secret_value(), decode_responses=True)

    def read(self, key: str) -> Fact:
        return Fact(value=self.r.get(f"test:transfer:{key}"), source=self.name, key=key, version=1)

    def transfer(self, key: str, payee: str) -> bool:
        return apply_once(self.r, f"test:transfer:{key}", "test:transfers", payee, payee)


def _prepare(inp: Payment, ctx: AgentContext) -> AgentResult[Payment]:
    return decided(inp, "pay as asked", "the request is the payment")


def _pay(inp: Payment, ctx: AgentContext) -> AgentResult[Payment]:
    return decided(inp, "transfer", "ready")


@envelope("approve", "above 1,000 a member of payments approves")
def above_limit(out: Payment) -> bool:
    return out.amount > 1_000


@envelope("approve", "above 50,000 two of finance approve", approvals=2, group="finance")
def very_large(out: Payment) -> bool:
    return out.amount > 50_000


@envelope("approve", "nobody may wait for ever", deadline=TIMES_OUT)
def times_out(out: Payment) -> bool:
    return out.note == "times-out"


@envelope("approve", "held when nobody decides", deadline=HOLD)
def held_when_late(out: Payment) -> bool:
    return out.note == "hold"


@envelope("approve", "finance-leads take over when nobody decides", deadline=HANDOVER)
def handed_over_when_late(out: Payment) -> bool:
    return out.note == "handover"


@invariant("FM-2.6", on_fail="escalate")
def checked_first(out: Payment, ictx: InvariantContext) -> str | None:
    """A payment noted ``check`` goes to a member of payments before it is paid."""
    return "marked for a check before payment" if out.note == "check" else None


def _transfer(out: Payment, key: str, sources: Mapping[str, Source]) -> Json:
    ledger = sources["ledger"]
    assert isinstance(ledger, Ledger)
    return {"applied": ledger.transfer(key, out.payee)}


TRANSFER = Action(
    name="transfer",
    tier="auto",
    run=_transfer,
    args=lambda out: {"payee": out.payee, "amount": out.amount},
    envelope=(very_large, above_limit, times_out, held_when_late, handed_over_when_late),
)


def build_chain() -> Chain:
    return Chain(
        name="approvals",
        description="One payment under approver groups, four eyes, M of N and deadlines.",
        entry="prepare",
        stages=(
            Stage("prepare", _prepare, Payment, Payment, owner="payments"),
            Stage("pay", _pay, Payment, Payment, owner="payments", actions=(TRANSFER,)),
        ),
        edges=(Edge("prepare", "pay", invariants=(checked_first,)), Edge("pay", END)),
        sources=lambda: {"ledger": Ledger()},
    )

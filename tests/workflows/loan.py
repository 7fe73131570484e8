"""``loan``: score an applicant at a credit bureau, decide, disburse (test workflow).

Written against the public authoring API as a fork would. The bureau is a source of truth whose
scores can move; ``Bank`` is the irreversible side effect, and it records every payment with the
score version it was decided on, so a test can see a payout made on a stale score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from graph.agent import AgentContext, AgentResult
from graph.chain import Action, Chain, Edge, Effect, Stage
from state.budgets import Budgets
from state.contracts import Carried, Contract, Fact
from state.decisions import DecisionRecord, Tier
from state.nodes import END
from state.sources import Source

APPROVE_FROM = 700


class Application(Contract):
    applicant: str
    amount: float


class Scored(Application):
    applicant: Annotated[str, Carried()]
    amount: Annotated[float, Carried()]
    score: Fact


class Verdict(Scored):
    score: Annotated[Fact, Carried()]
    approved: bool


class Disbursement(Contract):
    applicant: Annotated[str, Carried()]
    amount: Annotated[float, Carried()]
    approved: Annotated[bool, Carried()]


class Bureau:
    """Credit scores with a version that moves on every change."""

    name = "bureau"

    def __init__(self, scores: dict[str, int]) -> None:
        self.scores = dict(scores)
        self.versions = dict.fromkeys(scores, 1)

    def read(self, key: str) -> Fact:
        return Fact(value=self.scores[key], source=self.name, key=key, version=self.versions[key])

    def move(self, applicant: str, score: int) -> None:
        self.scores[applicant] = score
        self.versions[applicant] += 1


class Bank:
    """Payments made, with what the bureau said at the moment each was made."""

    name = "bank"

    def __init__(self, bureau: Bureau) -> None:
        self.bureau = bureau
        self.payments: list[dict[str, Any]] = []

    def read(self, key: str) -> Fact:
        return Fact(value=len(self.payments), source=self.name, key=key, version=1)

    def pay(self, key: str, applicant: str, amount: float) -> None:
        score = self.bureau.read(applicant)
        self.payments.append(
            {"key": key, "applicant": applicant, "amount": amount, "score_then": score.value}
        )


def score(inp: Contract, ctx: AgentContext) -> AgentResult[Scored]:
    assert isinstance(inp, Application)
    fact = ctx.sources["bureau"].read(inp.applicant)
    out = Scored(applicant=inp.applicant, amount=inp.amount, score=fact)
    return AgentResult(out, DecisionRecord(chosen=str(fact.value), rationale="bureau score"))


def decide(inp: Contract, ctx: AgentContext) -> AgentResult[Verdict]:
    assert isinstance(inp, Scored)
    ok = int(inp.score.value) >= APPROVE_FROM
    out = Verdict(**dict(inp), approved=ok)
    return AgentResult(out, DecisionRecord(chosen=str(ok), rationale=f"score {inp.score.value}"))


def make_disburse(move_to: int | None) -> Any:
    def disburse(inp: Contract, ctx: AgentContext) -> AgentResult[Disbursement]:
        assert isinstance(inp, Verdict)
        bureau: Any = ctx.sources["bureau"]
        if move_to is not None and bureau.read(inp.applicant).value != move_to:
            bureau.move(inp.applicant, move_to)  # the bureau updates while disburse works
        out = Disbursement(applicant=inp.applicant, amount=inp.amount, approved=inp.approved)
        return AgentResult(out, DecisionRecord(chosen="disburse", rationale="as decided"))

    return disburse


def _pay(out: Contract, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
    assert isinstance(out, Disbursement)
    bank = sources["bank"]
    assert isinstance(bank, Bank)
    if not out.approved:
        return {"paid": 0}
    bank.pay(key, out.applicant, out.amount)
    return {"paid": out.amount}


def _payments(sources: Mapping[str, Source]) -> list[Effect]:
    bank = sources["bank"]
    assert isinstance(bank, Bank)
    return [(p["key"], {"applicant": p["applicant"], "amount": p["amount"]}) for p in bank.payments]


def build_chain(tier: Tier = "auto", move_to: int | None = None) -> Chain:
    """The loan chain; ``move_to``: the score the bureau moves to while disburse works."""

    def sources() -> dict[str, Source]:
        bureau = Bureau({"ada": 720, "bob": 650})
        return {"bureau": bureau, "bank": Bank(bureau)}

    pay = Action(
        name="pay",
        tier=tier,
        run=_pay,
        args=lambda out: {
            "applicant": getattr(out, "applicant", ""),
            "amount": getattr(out, "amount", 0),
        },
        effects=_payments,
    )
    return Chain(
        name="loan",
        description="Score, decide, disburse (test workflow).",
        entry="score",
        stages=(
            Stage("score", score, Application, Scored, owner="risk"),
            Stage("decide", decide, Scored, Verdict, owner="risk"),
            Stage(
                "disburse",
                make_disburse(move_to),
                Verdict,
                Disbursement,
                owner="finance",
                actions=(pay,),
            ),
        ),
        edges=(Edge("score", "decide"), Edge("decide", "disburse"), Edge("disburse", END)),
        budgets=Budgets(max_steps=20),
        sources=sources,
    )

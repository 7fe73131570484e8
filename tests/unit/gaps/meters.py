"""A small workflow for the gap tests: read two meters, pass the readings on, bill.

``read`` takes an :class:`Ask` and produces a :class:`Read` holding facts in an optional field
(``latest``) and in a list (``history``); ``bill`` carries every field on into a :class:`Bill`,
re-serialising the Decimal amount with a trailing zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Edge, Fault, Invariant, Stage
from state.contracts import Carried, Contract, Fact
from state.decisions import DecisionRecord
from state.nodes import END


class Meter:
    name = "meters"

    def __init__(self) -> None:
        self.versions = {"m1": 1, "m2": 1}

    def read(self, key: str) -> Fact:
        return Fact(
            value=10 * self.versions[key], source=self.name, key=key, version=self.versions[key]
        )


class Ask(Contract):
    account: str
    amount: Decimal


class Read(Contract):
    account: Annotated[str, Carried()]
    amount: Annotated[Decimal, Carried()]
    latest: Fact | None
    history: list[Fact]


class Bill(Read):
    latest: Annotated[Fact | None, Carried()]
    history: Annotated[list[Fact], Carried()]
    billed: bool


def read_meters(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
    assert isinstance(inp, Ask)
    src = ctx.sources["meters"]
    out = Read(
        account=inp.account,
        amount=inp.amount,
        latest=src.read("m1"),
        history=[src.read("m1"), src.read("m2")],
    )
    return AgentResult(out, DecisionRecord(chosen="read", rationale="two meters"))


def bill_meters(inp: Contract, ctx: AgentContext) -> AgentResult[Bill]:
    assert isinstance(inp, Read)
    # Re-serialised with a trailing zero: the same amount, as a user means it.
    amount = Decimal(str(inp.amount) + "0") if "." in str(inp.amount) else inp.amount
    out = Bill(**{**dict(inp), "amount": amount}, billed=True)
    return AgentResult(out, DecisionRecord(chosen="bill", rationale="bill it"))


def meter_chain(*invariants: Invariant[Any], faults: tuple[Fault, ...] = ()) -> Chain:
    return Chain(
        name="meters",
        description="test",
        entry="read",
        stages=(
            Stage("read", read_meters, Ask, Read, owner="ops"),
            Stage("bill", bill_meters, Read, Bill, owner="ops"),
        ),
        edges=(Edge("read", "bill"), Edge("bill", END, invariants=invariants)),
        sources=lambda: {"meters": Meter()},
        faults=faults,
    )


ASK = {"account": "A-1", "amount": "10000.490"}

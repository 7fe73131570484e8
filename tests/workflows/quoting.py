"""``quoting``: one stage that prices a request (served over A2A by a second Waybill process in
tests; its agent quotes a fantasy price for ``SKU-GOLD``)."""

from __future__ import annotations

from graph.agent import AgentContext, AgentResult, decided
from graph.chain import Chain, Edge, Stage
from state.contracts import Contract
from state.nodes import END

PRICES = {"SKU-CHAIR-01": 45.0, "SKU-GOLD": 1_000_000.0}


class QuoteAsk(Contract):
    sku: str
    quantity: int


class Quote(Contract):
    sku: str
    quantity: int
    unit_price: float
    currency: str


def quote(inp: QuoteAsk, ctx: AgentContext) -> AgentResult[Quote]:
    price = PRICES.get(inp.sku, 10.0)
    out = Quote(sku=inp.sku, quantity=inp.quantity, unit_price=price, currency="EUR")
    return decided(out, f"{price} EUR a unit", "from the price list")


def build_chain() -> Chain:
    return Chain(
        name="quoting",
        description="Prices a purchase request from the price list.",
        entry="quote",
        stages=(Stage("quote", quote, QuoteAsk, Quote, owner="sales"),),
        edges=(Edge("quote", END),),
    )

"""``stocked``: an agent that reads stock through an MCP tool, and a reservation that is an
MCP tool declared as an approve-tier action (tests of MCP tools, taped and gated)."""

from __future__ import annotations

from typing import Annotated

from agents.tools.mcp import McpServer, mcp_action
from graph.agent import AgentContext, AgentResult, decided
from graph.chain import Action, Chain, Edge, Stage, invariant
from graph.chain import InvariantContext as Ictx
from state.budgets import Budgets
from state.contracts import Carried, Contract
from state.nodes import END


class Ask(Contract):
    sku: str
    quantity: int


class Checked(Contract):
    sku: Annotated[str, Carried()]
    quantity: Annotated[int, Carried()]
    in_stock: int


def check(inp: Ask, ctx: AgentContext) -> AgentResult[Checked]:
    found = ctx.tools.call("stock_level", sku=inp.sku)
    units = int((found.data or {}).get("units", 0))
    out = Checked(sku=inp.sku, quantity=inp.quantity, in_stock=units)
    return decided(out, f"{units} in stock", "asked the stock server", inputs_used=["sku"])


def reserve(inp: Checked, ctx: AgentContext) -> AgentResult[Checked]:
    return decided(inp, "reserve", "enough stock")


@invariant("FM-3.2")
def enough_stock(out: Checked, ictx: Ictx) -> str | None:
    return None if out.in_stock >= out.quantity else f"only {out.in_stock} in stock"


def build_chain(stock: McpServer, max_tool_calls: int | None = None) -> Chain:
    reservation: Action[Checked] = mcp_action(
        stock,
        "reserve_stock",
        tier="approve",
        args=lambda out: {"sku": out.sku, "quantity": out.quantity},
    )
    return Chain(
        name="stocked",
        description="Reads stock through MCP; reserves it through an MCP tool as an action.",
        entry="check",
        stages=(
            Stage("check", check, Ask, Checked, owner="tests", tools=(stock,)),
            Stage("reserve", reserve, Checked, Checked, owner="tests", actions=(reservation,)),
        ),
        edges=(
            Edge("check", "reserve", invariants=(enough_stock,)),
            Edge("reserve", END),
        ),
        budgets=Budgets(max_tool_calls=max_tool_calls),
    )

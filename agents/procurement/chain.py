"""The procurement chain: contracts, stages, gated edges, the order action, and its faults.

intake -> inventory -> sourcing -> po_draft -> place_order, with a budgeted back edge
po_draft -> sourcing (re-sourcing). Placing an order is ``auto`` below 5,000 and needs a
human's approval above it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

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
from state.contracts import Carried, Contract, Fact

APPROVAL_LIMIT = 5000.0
"""Orders above this total need a human's approval."""

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "procurement"

# --- contracts -------------------------------------------------------------------------------


class PurchaseRequest(Contract):
    """What a requester asks for, in their own words."""

    request_id: str = Field(min_length=1)
    requester: str = Field(min_length=1)
    cost_center: str = Field(min_length=1)
    text: str = Field(min_length=1, description="e.g. 'Need 40 units of SKU-CHAIR-01 by ...'")


class OrderSpec(Contract):
    """The request, parsed: what to order, how many, by when."""

    request_id: Annotated[str, Carried()]
    requester: Annotated[str, Carried()]
    cost_center: Annotated[str, Carried()]
    text: Annotated[str, Carried()]
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    need_by: date | None = None


class StockReport(Contract):
    """The order spec with the stock on hand (a versioned fact) and what must be bought."""

    request_id: Annotated[str, Carried()]
    requester: Annotated[str, Carried()]
    cost_center: Annotated[str, Carried()]
    sku: Annotated[str, Carried()]
    quantity: Annotated[int, Carried()]
    need_by: Annotated[date | None, Carried()]
    stock: Fact
    order_quantity: int = Field(ge=0)


class SupplierChoice(StockReport):
    """The stock report with the supplier chosen to fill the shortfall."""

    stock: Annotated[Fact, Carried()]
    order_quantity: Annotated[int, Carried()]
    supplier: str = Field(min_length=1)
    unit_price: float = Field(gt=0)
    lead_days: int = Field(ge=0)
    alternatives: list[str] = Field(default_factory=list)


class PurchaseOrder(SupplierChoice):
    """A drafted purchase order; ``needs_resourcing`` sends it back to sourcing."""

    supplier: Annotated[str, Carried()]
    unit_price: Annotated[float, Carried()]
    po_number: str = Field(min_length=1)
    total: float = Field(ge=0)
    needs_resourcing: bool = False


class OrderPlaced(Contract):
    """The outcome: the order as placed with the supplier."""

    request_id: Annotated[str, Carried()]
    po_number: Annotated[str, Carried()]
    supplier: Annotated[str, Carried()]
    sku: Annotated[str, Carried()]
    order_quantity: Annotated[int, Carried()]
    total: Annotated[float, Carried()]
    status: Literal["placed", "nothing_to_order"]


# --- domain invariants -----------------------------------------------------------------------


def _numbers_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(?<![\w-])(\d+)(?![\w-])", text)}


def quantity_in_request(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, OrderSpec)
    if out.quantity not in _numbers_in(out.text):
        return f"quantity {out.quantity} does not appear in the request text {out.text!r}"
    return None


def sku_in_request(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, OrderSpec)
    if out.sku not in out.text:
        return f"SKU {out.sku} does not appear in the request text"
    return None


def supplier_offers_sku(out: Contract, ictx: InvariantContext) -> str | None:
    from agents.procurement.domain import offers_for

    assert isinstance(out, SupplierChoice)
    offer = next((o for o in offers_for(out.sku) if o.supplier == out.supplier), None)
    if offer is None:
        return f"{out.supplier} has no catalogue offer for {out.sku}"
    if abs(offer.unit_price - out.unit_price) > 0.005:
        return f"unit price {out.unit_price} differs from the catalogue's {offer.unit_price}"
    return None


def total_matches_lines(out: Contract, ictx: InvariantContext) -> str | None:
    assert isinstance(out, PurchaseOrder)
    expected = round(out.order_quantity * out.unit_price, 2)
    if abs(out.total - expected) > 0.005:
        return f"total {out.total} is not {out.order_quantity} x {out.unit_price} = {expected}"
    return None


# --- the order action ------------------------------------------------------------------------


def _order_args(out: Contract) -> dict[str, Any]:
    assert isinstance(out, OrderPlaced)
    return {
        "po_number": out.po_number,
        "supplier": out.supplier,
        "sku": out.sku,
        "quantity": out.order_quantity,
        "total": out.total,
    }


def _place(out: Contract, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
    from agents.procurement.domain import SupplierPortal

    assert isinstance(out, OrderPlaced)
    portal = sources["portal"]
    assert isinstance(portal, SupplierPortal)
    if out.order_quantity == 0:
        return {"ref": None, "note": "stock covers the request"}
    ref = portal.place(key, out.po_number, out.supplier, out.sku, out.order_quantity, out.total)
    return {"ref": ref}


def _orders_at_portal(sources: Mapping[str, Source]) -> list[Effect]:
    from agents.procurement.domain import SupplierPortal

    portal = sources["portal"]
    return portal.effects() if isinstance(portal, SupplierPortal) else []


def _over_limit(out: Contract) -> bool:
    return isinstance(out, OrderPlaced) and out.total > APPROVAL_LIMIT


PLACE_ORDER = Action(
    name="place_order",
    tier="auto",
    run=_place,
    args=_order_args,
    envelope=(
        EnvelopeRule(
            name="amount_over_limit",
            when=_over_limit,
            raise_to="approve",
            reason=f"order total is above the {APPROVAL_LIMIT:,.0f} approval limit",
        ),
    ),
    description="Place the purchase order with the supplier (irreversible; the portal takes "
    "every order it is sent, so a lost outcome goes to a human).",
    effects=_orders_at_portal,
)

# --- faults ----------------------------------------------------------------------------------


def _drop_a_digit(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "quantity": max(1, payload["quantity"] // 10)}


def _stock_moves(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    from agents.procurement.domain import Inventory

    inventory = fctx.sources["inventory"]
    assert isinstance(inventory, Inventory)
    inventory.adjust(payload["sku"], -3)  # another order took stock after our read
    return payload


def _bounce(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "needs_resourcing": True}


def _summarise_lossily(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {**payload, "cost_center": payload["cost_center"].split("-")[0]}


def _inflate(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return {
        **payload,
        "order_quantity": payload["order_quantity"] * 2,
        "total": payload["total"] * 2,
    }


def _stock_taken(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    from agents.procurement.domain import Inventory

    inventory = fctx.sources["inventory"]
    assert isinstance(inventory, Inventory)
    inventory.adjust(payload["sku"], -3)  # another order took stock after the gate passed
    return payload


FAULTS = (
    Fault(
        name="bad_extraction",
        stage="intake",
        mode="silent_error",
        description="intake drops a digit of the quantity (100 becomes 10)",
        apply=_drop_a_digit,
        expect_gate="gate intake->inventory",
        expect_mast="FM-1.1",
    ),
    Fault(
        name="stale_inventory",
        stage="inventory",
        mode="stale_state",
        description="stock changes right after inventory read it",
        apply=_stock_moves,
        expect_gate="gate inventory->sourcing",
        expect_mast="FM-3.2",
    ),
    Fault(
        name="ping_pong",
        stage="po_draft",
        mode="handoff_loop",
        description="po_draft keeps sending the same work back to sourcing, unchanged",
        apply=_bounce,
        expect_gate="gate sourcing->po_draft",
        expect_mast="FM-1.3",
        persistent=True,
    ),
    Fault(
        name="lossy_summary",
        stage="po_draft",
        mode="lossy_summary",
        description="po_draft summarises the order and loses the cost centre's suffix",
        apply=_summarise_lossily,
        expect_gate="gate po_draft->place_order",
        expect_mast="FM-1.4",
    ),
    Fault(
        name="inflated_order",
        stage="place_order",
        mode="silent_error",
        description="place_order doubles the quantity and total it was handed (the order it "
        "would place is not the one the PO gate checked)",
        apply=_inflate,
        expect_gate="gate place_order->END",
        expect_mast="FM-1.4",
    ),
    Fault(
        name="stock_taken_before_order",
        stage="place_order",
        mode="stale_state",
        description="stock is taken between the gate's pass and the order (auto tier)",
        apply=_stock_taken,
        expect_gate="act place_order",
        expect_mast="FM-3.2",
        when="before_action",
    ),
    Fault(
        name="crash_after_order",
        stage="place_order",
        mode="unknown_outcome",
        description="the worker dies after the portal took the order and before its result "
        "was recorded",
        expect_gate="act place_order",
        expect_mast="FM-3.2",
        when="after_call",
    ),
)

# --- the chain -------------------------------------------------------------------------------


def _route_po(out: Contract) -> Literal["sourcing", "place_order"]:
    return "sourcing" if isinstance(out, PurchaseOrder) and out.needs_resourcing else "place_order"


def build_chain() -> Chain:
    """The procurement chain (agents are imported here: they import these contracts)."""
    from agents.procurement import agents
    from agents.procurement.domain import new_sources

    return Chain(
        name="procurement",
        description="Turn a purchase request into a placed order, checking stock and suppliers.",
        entry="intake",
        stages=(
            Stage("intake", agents.intake, PurchaseRequest, OrderSpec, owner="procurement-desk"),
            Stage("inventory", agents.inventory, OrderSpec, StockReport, owner="warehouse"),
            Stage("sourcing", agents.sourcing, StockReport, SupplierChoice, owner="buyers"),
            Stage(
                "po_draft",
                agents.po_draft,
                SupplierChoice,
                PurchaseOrder,
                owner="buyers",
                route=_route_po,
            ),
            Stage(
                "place_order",
                agents.place_order,
                PurchaseOrder,
                OrderPlaced,
                owner="finance",
                finishes=True,
                actions=(PLACE_ORDER,),
            ),
        ),
        edges=(
            Edge(
                "intake",
                "inventory",
                invariants=(
                    Invariant("quantity_in_request", quantity_in_request, ("FM-1.1",)),
                    Invariant("sku_in_request", sku_in_request, ("FM-1.1",)),
                ),
            ),
            Edge("inventory", "sourcing"),
            Edge(
                "sourcing",
                "po_draft",
                invariants=(Invariant("supplier_offers_sku", supplier_offers_sku, ("FM-2.6",)),),
            ),
            Edge("po_draft", "sourcing", max_traversals=3),
            Edge(
                "po_draft",
                "place_order",
                invariants=(Invariant("total_matches_lines", total_matches_lines, ("FM-2.6",)),),
            ),
            Edge("place_order", END),
        ),
        budgets=Budgets(max_steps=30, max_revisions_per_edge=2, max_wall_s=300),
        faults=FAULTS,
        sources=new_sources,
        examples={p.stem: p for p in sorted(EXAMPLES.glob("*.json"))},
    )

"""The procurement chain: stages, gated edges, invariants, the order action, and its faults.

intake -> inventory -> sourcing -> po_draft -> place_order, with a budgeted back edge
po_draft -> sourcing (re-sourcing). Placing an order is ``auto`` below 5,000 and needs a
human's approval above it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from agents.procurement import agents
from agents.procurement.contracts import (
    OrderPlaced,
    OrderSpec,
    PurchaseOrder,
    PurchaseRequest,
    StockReport,
    SupplierChoice,
)
from agents.procurement.domain import Inventory, SupplierPortal, new_sources, offers_for
from graph import (
    END,
    Action,
    Budgets,
    Chain,
    DecisionDeadline,
    Edge,
    Effect,
    FaultContext,
    InvariantContext,
    Json,
    Source,
    Stage,
    above,
    act_node,
    envelope,
    examples_of,
    fault,
    gate_node,
    invariant,
    source_of,
)

APPROVAL_LIMIT = 5000.0
"""Orders above this total need a human's approval (a member of finance, the stage's owner)."""
TWO_APPROVERS_FROM = 50_000.0
"""Orders above this total need two approvers of finance."""
ORDER_DEADLINE = DecisionDeadline(
    after_s=8 * 3600, then="handover", backup_group="finance-leads", remind_before_s=3600
)
"""Finance has a working day (a reminder an hour before); then finance-leads get the order,
with a day of their own before it is rejected."""

# --- domain invariants -----------------------------------------------------------------------


def _numbers_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(?<![\w-])(\d+)(?![\w-])", text)}


@invariant("FM-1.1")
def quantity_in_request(out: OrderSpec, ictx: InvariantContext) -> str | None:
    """The quantity is a number written in the request, not one the intake made up."""
    if out.quantity not in _numbers_in(out.text):
        return f"quantity {out.quantity} does not appear in the request text {out.text!r}"
    return None


@invariant("FM-1.1")
def sku_in_request(out: OrderSpec, ictx: InvariantContext) -> str | None:
    """The SKU is written in the request text."""
    return None if out.sku in out.text else f"SKU {out.sku} does not appear in the request text"


@invariant("FM-2.6")
def supplier_offers_sku(out: SupplierChoice, ictx: InvariantContext) -> str | None:
    """The chosen supplier lists the SKU in the catalogue, at the unit price quoted."""
    offer = next((o for o in offers_for(out.sku) if o.supplier == out.supplier), None)
    if offer is None:
        return f"{out.supplier} has no catalogue offer for {out.sku}"
    if abs(offer.unit_price - out.unit_price) > 0.005:
        return f"unit price {out.unit_price} differs from the catalogue's {offer.unit_price}"
    return None


@invariant("FM-2.6")
def total_matches_lines(out: PurchaseOrder, ictx: InvariantContext) -> str | None:
    """The PO's total is its quantity times its unit price (to the cent)."""
    expected = round(out.order_quantity * out.unit_price, 2)
    if abs(out.total - expected) > 0.005:
        return f"total {out.total} is not {out.order_quantity} x {out.unit_price} = {expected}"
    return None


# --- the order action ------------------------------------------------------------------------


def _order_args(out: OrderPlaced) -> Json:
    return {
        "po_number": out.po_number,
        "supplier": out.supplier,
        "sku": out.sku,
        "quantity": out.order_quantity,
        "total": out.total,
    }


def _place(out: OrderPlaced, key: str, sources: Mapping[str, Source]) -> Json:
    if out.order_quantity == 0:
        return {"ref": None, "note": "stock covers the request"}
    portal = source_of(sources, "portal", SupplierPortal)
    return {
        "ref": portal.place(
            key, out.po_number, out.supplier, out.sku, out.order_quantity, out.total
        )
    }


def _orders_at_portal(sources: Mapping[str, Source]) -> list[Effect]:
    return source_of(sources, "portal", SupplierPortal).effects()


amount_over_limit = above(
    OrderPlaced,
    "total",
    APPROVAL_LIMIT,
    "approve",
    f"order total is above the {APPROVAL_LIMIT:,.0f} approval limit",
    name="amount_over_limit",
    deadline=ORDER_DEADLINE,
)
"""Holds for an order above ``APPROVAL_LIMIT``: placing it then needs a human (a limit an admin
may move, see the console's Insights page)."""


@envelope(
    "approve",
    f"order total is above {TWO_APPROVERS_FROM:,.0f}: two of finance approve",
    approvals=2,
    group="finance",
    deadline=ORDER_DEADLINE,
)
def very_large_order(out: OrderPlaced) -> bool:
    """Holds for an order above ``TWO_APPROVERS_FROM``: two distinct approvers place it."""
    return out.total > TWO_APPROVERS_FROM


PLACE_ORDER = Action(
    name="place_order",
    tier="auto",
    run=_place,
    args=_order_args,
    envelope=(amount_over_limit, very_large_order),
    description="Place the purchase order with the supplier (irreversible; the portal takes "
    "every order it is sent, so a lost outcome goes to a human).",
    effects=_orders_at_portal,
)

# --- faults ----------------------------------------------------------------------------------


@fault("intake", "silent_error", gate_node("intake", "inventory"), "FM-1.1")
def bad_extraction(payload: Json, fctx: FaultContext) -> Json:
    """intake drops a digit of the quantity (100 becomes 10)"""
    return {**payload, "quantity": max(1, payload["quantity"] // 10)}


@fault("inventory", "stale_state", gate_node("inventory", "sourcing"), "FM-3.2")
def stale_inventory(payload: Json, fctx: FaultContext) -> Json:
    """stock changes right after inventory read it"""
    source_of(fctx.sources, "inventory", Inventory).adjust(payload["sku"], -3)
    return payload


@fault("po_draft", "handoff_loop", gate_node("sourcing", "po_draft"), "FM-1.3", persistent=True)
def ping_pong(payload: Json, fctx: FaultContext) -> Json:
    """po_draft keeps sending the same work back to sourcing, unchanged"""
    return {**payload, "needs_resourcing": True}


@fault("po_draft", "lossy_summary", gate_node("po_draft", "place_order"), "FM-1.4")
def lossy_summary(payload: Json, fctx: FaultContext) -> Json:
    """po_draft summarises the order and loses the cost centre's suffix"""
    return {**payload, "cost_center": payload["cost_center"].split("-")[0]}


@fault("place_order", "silent_error", gate_node("place_order", END), "FM-1.4")
def inflated_order(payload: Json, fctx: FaultContext) -> Json:
    """place_order doubles the quantity and total it was handed (the order it would place is
    not the one the PO gate checked)"""
    return payload | {
        "order_quantity": payload["order_quantity"] * 2,
        "total": payload["total"] * 2,
    }


@fault("place_order", "stale_state", act_node("place_order"), "FM-3.2", when="before_action")
def stock_taken_before_order(payload: Json, fctx: FaultContext) -> Json:
    """stock is taken between the gate's pass and the order (auto tier)"""
    source_of(fctx.sources, "inventory", Inventory).adjust(payload["sku"], -3)
    return payload


@fault("place_order", "unknown_outcome", act_node("place_order"), "FM-3.2", when="after_call")
def crash_after_order(payload: Json, fctx: FaultContext) -> Json:
    """the worker dies after the portal took the order and before its result was recorded"""
    return payload


FAULTS = (
    bad_extraction,
    stale_inventory,
    ping_pong,
    lossy_summary,
    inflated_order,
    stock_taken_before_order,
    crash_after_order,
)

# --- the chain -------------------------------------------------------------------------------


def _route_po(out: PurchaseOrder) -> Literal["sourcing", "place_order"]:
    return "sourcing" if out.needs_resourcing else "place_order"


def build_chain() -> Chain:
    """The procurement chain."""
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
                actions=(PLACE_ORDER,),
            ),
        ),
        edges=(
            Edge("intake", "inventory", invariants=(quantity_in_request, sku_in_request)),
            Edge("inventory", "sourcing"),
            Edge("sourcing", "po_draft", invariants=(supplier_offers_sku,)),
            Edge("po_draft", "sourcing", max_traversals=3),
            Edge("po_draft", "place_order", invariants=(total_matches_lines,)),
            Edge("place_order", END),
        ),
        budgets=Budgets(max_steps=30, max_revisions_per_edge=2, max_wall_s=300),
        faults=FAULTS,
        sources=new_sources,
        examples=examples_of(__package__ or "agents.procurement"),
    )

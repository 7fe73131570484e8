"""The procurement specialists: deterministic rule brains (the default), each writing a
DecisionRecord, and LLM brains chosen by ``WAYBILL_MODEL`` (see ``agents.llm``).

Agents are pure functions of their input contract (and the sources they read): side effects
are the chain's declared actions, run by the stage node after any approval.
"""

from __future__ import annotations

import re
from datetime import date

from agents.llm import llm_brain
from agents.procurement.contracts import (
    OrderPlaced,
    OrderSpec,
    PurchaseOrder,
    PurchaseRequest,
    StockReport,
    SupplierChoice,
)
from agents.procurement.domain import offers_for
from graph import AgentContext, AgentResult, Json, decided

_SKU = re.compile(r"\bSKU-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_QTY = re.compile(r"(?<![\w-])(\d+)\s*(?:x\s+|units?\b|pcs\b|pieces\b|of\b)", re.IGNORECASE)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def _stock_context(inp: OrderSpec, ctx: AgentContext) -> Json:
    return {"stock": ctx.sources["inventory"].read(inp.sku)}


def _catalogue_context(inp: StockReport, ctx: AgentContext) -> Json:
    return {"offers": [vars(o) for o in offers_for(inp.sku)], "today": date.today()}


@llm_brain(
    "Parse the purchase request: the SKU (SKU-...), the quantity and the need-by date, "
    "exactly as the text states them.",
)
def intake(inp: PurchaseRequest, ctx: AgentContext) -> AgentResult[OrderSpec]:
    """Parse the free-text request into an order spec."""
    sku, qty, when = _SKU.search(inp.text), _QTY.search(inp.text), _DATE.search(inp.text)
    spec = OrderSpec.carry(
        inp,
        sku=sku.group(0) if sku else "",
        quantity=int(qty.group(1)) if qty else 0,
        need_by=date.fromisoformat(when.group(1)) if when else None,
    )
    found = [name for name, m in (("sku", sku), ("quantity", qty), ("need_by", when)) if m]
    why = f"parsed {', '.join(found) or 'nothing'} from the request text"
    chosen = f"{spec.quantity} x {spec.sku or '?'}"
    return decided(
        spec, chosen, why, agent="intake-parser", inputs_used=["text"], confidence=len(found) / 3
    )


@llm_brain(
    "Copy the stock fact from the context unchanged into `stock`; order_quantity is the "
    "quantity asked minus the stock on hand, never below 0.",
    context=_stock_context,
)
def inventory(inp: OrderSpec, ctx: AgentContext) -> AgentResult[StockReport]:
    """Read the stock on hand and work out the shortfall."""
    stock = ctx.sources["inventory"].read(inp.sku)
    shortfall = max(0, inp.quantity - int(stock.value))
    report = StockReport.carry(inp, stock=stock, order_quantity=shortfall)
    why = f"{stock.value} on hand (inventory v{stock.version}) for {inp.quantity} asked"
    used = ["sku", "quantity", stock.ref]
    return decided(report, f"order {shortfall}", why, agent="stock-keeper", inputs_used=used)


@llm_brain(
    "Choose the cheapest catalogue offer in the context that delivers by need_by; copy its "
    "supplier, unit_price and lead_days; list the other suppliers.",
    context=_catalogue_context,
)
def sourcing(inp: StockReport, ctx: AgentContext) -> AgentResult[SupplierChoice]:
    """Choose the cheapest supplier that can deliver in time."""
    offers = offers_for(inp.sku)
    if inp.need_by is not None:
        days = (inp.need_by - date.today()).days
        offers = [o for o in offers if o.lead_days <= days] or offers
    best = offers[0] if offers else None
    choice = SupplierChoice.carry(
        inp,
        supplier=best.supplier if best else "",
        unit_price=best.unit_price if best else 0.01,
        lead_days=best.lead_days if best else 0,
        alternatives=[o.supplier for o in offers[1:]],
    )
    why = "cheapest catalogue offer meeting the need-by date" if best else "no offer for the SKU"
    chosen = choice.supplier or "no supplier"
    used = ["sku", "need_by", "catalogue"]
    return decided(
        choice, chosen, why, agent="buyer", alternatives=choice.alternatives, inputs_used=used
    )


@llm_brain(
    "Draft the purchase order: po_number is PO- followed by the request id; total is "
    "order_quantity x unit_price rounded to cents.",
)
def po_draft(inp: SupplierChoice, ctx: AgentContext) -> AgentResult[PurchaseOrder]:
    """Draft the purchase order for the chosen supplier."""
    total = round(inp.order_quantity * inp.unit_price, 2)
    po = PurchaseOrder.carry(inp, po_number=f"PO-{inp.request_id}", total=total)
    why = f"{inp.order_quantity} x {inp.unit_price} from {inp.supplier}"
    used = ["order_quantity", "unit_price", "supplier"]
    return decided(po, f"{po.po_number}: {po.total:,.2f}", why, agent="po-writer", inputs_used=used)


@llm_brain(
    "Prepare the order for placement: status placed when order_quantity > 0, else "
    "nothing_to_order.",
)
def place_order(inp: PurchaseOrder, ctx: AgentContext) -> AgentResult[OrderPlaced]:
    """Prepare the order for placement (the placing itself is the stage's action)."""
    status = "placed" if inp.order_quantity else "nothing_to_order"
    placed = OrderPlaced.carry(inp, status=status)
    why = f"{inp.po_number} for {inp.total:,.2f} to {inp.supplier}"
    used = ["po_number", "total", "supplier"]
    return decided(placed, placed.status, why, agent="order-clerk", inputs_used=used)

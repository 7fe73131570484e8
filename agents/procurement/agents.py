"""The procurement specialists: deterministic rule brains (the default), each writing a
DecisionRecord, and LLM brains chosen by ``WAYBILL_MODEL`` (see ``agents.llm``).

Agents are pure functions of their input contract (and the sources they read): side effects
are the chain's declared actions, run by the stage node after any approval.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from agents.llm import LlmSpec, with_llm_brain
from agents.procurement.contracts import (
    OrderPlaced,
    OrderSpec,
    PurchaseOrder,
    PurchaseRequest,
    StockReport,
    SupplierChoice,
)
from agents.procurement.domain import offers_for
from graph.agent import AgentContext, AgentResult
from state.decisions import DecisionRecord

_SKU = re.compile(r"\bSKU-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_QTY = re.compile(r"(?<![\w-])(\d+)\s*(?:x\s+|units?\b|pcs\b|pieces\b|of\b)", re.IGNORECASE)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def intake_rules(inp: PurchaseRequest, ctx: AgentContext) -> AgentResult[OrderSpec]:
    """Parse the free-text request into an order spec."""
    sku = _SKU.search(inp.text)
    qty = _QTY.search(inp.text)
    when = _DATE.search(inp.text)
    spec = OrderSpec(
        request_id=inp.request_id,
        requester=inp.requester,
        cost_center=inp.cost_center,
        text=inp.text,
        sku=sku.group(0) if sku else "",
        quantity=int(qty.group(1)) if qty else 0,
        need_by=date.fromisoformat(when.group(1)) if when else None,
    )
    found = [name for name, m in (("sku", sku), ("quantity", qty), ("need_by", when)) if m]
    return AgentResult(
        spec,
        DecisionRecord(
            agent="intake-parser",
            chosen=f"{spec.quantity} x {spec.sku or '?'}",
            rationale=f"parsed {', '.join(found) or 'nothing'} from the request text",
            inputs_used=["text"],
            confidence=len(found) / 3,
        ),
    )


def inventory_rules(inp: OrderSpec, ctx: AgentContext) -> AgentResult[StockReport]:
    """Read the stock on hand and work out the shortfall."""
    stock = ctx.sources["inventory"].read(inp.sku)
    on_hand = int(stock.value)
    shortfall = max(0, inp.quantity - on_hand)
    report = StockReport(
        request_id=inp.request_id,
        requester=inp.requester,
        cost_center=inp.cost_center,
        sku=inp.sku,
        quantity=inp.quantity,
        need_by=inp.need_by,
        stock=stock,
        order_quantity=shortfall,
    )
    return AgentResult(
        report,
        DecisionRecord(
            agent="stock-keeper",
            chosen=f"order {shortfall}",
            alternatives=["fill from stock"] if shortfall == 0 else [],
            rationale=f"{on_hand} on hand (inventory v{stock.version}) for {inp.quantity} asked",
            inputs_used=["sku", "quantity", f"inventory/{inp.sku}"],
        ),
    )


def sourcing_rules(inp: StockReport, ctx: AgentContext) -> AgentResult[SupplierChoice]:
    """Choose the cheapest supplier that can deliver in time."""
    offers = offers_for(inp.sku)
    if inp.need_by is not None:
        days = (inp.need_by - date.today()).days
        in_time = [o for o in offers if timedelta(days=o.lead_days).days <= days]
        offers = in_time or offers
    best = offers[0] if offers else None
    choice = SupplierChoice(
        **_report_fields(inp),
        supplier=best.supplier if best else "",
        unit_price=best.unit_price if best else 0.01,
        lead_days=best.lead_days if best else 0,
        alternatives=[o.supplier for o in offers[1:]],
    )
    return AgentResult(
        choice,
        DecisionRecord(
            agent="buyer",
            chosen=choice.supplier or "no supplier",
            alternatives=choice.alternatives,
            rationale="cheapest catalogue offer meeting the need-by date"
            if best
            else "no catalogue offer for this SKU",
            inputs_used=["sku", "need_by", "catalogue"],
        ),
    )


def _report_fields(inp: StockReport) -> dict[str, object]:
    return {name: getattr(inp, name) for name in StockReport.model_fields}


def po_draft_rules(inp: SupplierChoice, ctx: AgentContext) -> AgentResult[PurchaseOrder]:
    """Draft the purchase order for the chosen supplier."""
    fields = {name: getattr(inp, name) for name in SupplierChoice.model_fields}
    po = PurchaseOrder(
        **fields,
        po_number=f"PO-{inp.request_id}",
        total=round(inp.order_quantity * inp.unit_price, 2),
    )
    return AgentResult(
        po,
        DecisionRecord(
            agent="po-writer",
            chosen=f"{po.po_number}: {po.total:,.2f}",
            rationale=f"{inp.order_quantity} x {inp.unit_price} from {inp.supplier}",
            inputs_used=["order_quantity", "unit_price", "supplier"],
        ),
    )


def place_order_rules(inp: PurchaseOrder, ctx: AgentContext) -> AgentResult[OrderPlaced]:
    """Prepare the order for placement (the placing itself is the stage's action)."""
    placed = OrderPlaced(
        request_id=inp.request_id,
        po_number=inp.po_number,
        supplier=inp.supplier,
        sku=inp.sku,
        order_quantity=inp.order_quantity,
        total=inp.total,
        status="placed" if inp.order_quantity else "nothing_to_order",
    )
    return AgentResult(
        placed,
        DecisionRecord(
            agent="order-clerk",
            chosen=placed.status,
            rationale=f"{inp.po_number} for {inp.total:,.2f} to {inp.supplier}",
            inputs_used=["po_number", "total", "supplier"],
        ),
    )


def _stock_context(inp: OrderSpec, ctx: AgentContext) -> dict[str, Any]:
    return {"stock": ctx.sources["inventory"].read(inp.sku)}


def _catalogue_context(inp: StockReport, ctx: AgentContext) -> dict[str, Any]:
    return {"offers": [vars(o) for o in offers_for(inp.sku)], "today": date.today()}


# The same agents with an LLM brain when one is chosen for them; the rules stay the default.
intake = with_llm_brain(
    intake_rules,
    LlmSpec(
        "Parse the purchase request: the SKU (SKU-...), the quantity and the need-by date, "
        "exactly as the text states them.",
    ),
)
inventory = with_llm_brain(
    inventory_rules,
    LlmSpec(
        "Copy the stock fact from the context unchanged into `stock`; order_quantity is the "
        "quantity asked minus the stock on hand, never below 0.",
        _stock_context,
    ),
)
sourcing = with_llm_brain(
    sourcing_rules,
    LlmSpec(
        "Choose the cheapest catalogue offer in the context that delivers by need_by; copy its "
        "supplier, unit_price and lead_days; list the other suppliers.",
        _catalogue_context,
    ),
)
po_draft = with_llm_brain(
    po_draft_rules,
    LlmSpec(
        "Draft the purchase order: po_number is PO- followed by the request id; total is "
        "order_quantity x unit_price rounded to cents.",
    ),
)
place_order = with_llm_brain(
    place_order_rules,
    LlmSpec(
        "Prepare the order for placement: status placed when order_quantity > 0, else "
        "nothing_to_order.",
    ),
)

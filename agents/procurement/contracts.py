"""The procurement workflow's handoff contracts: what travels between its agents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from state.contracts import Carried, Contract, Fact


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

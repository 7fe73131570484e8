"""The procurement workflow's world: an inventory (source of truth), a catalogue, a portal.

All in memory and deterministic, so the reference workflow runs offline with no API key.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass

from graph import Json, Source
from state.clock import utcnow
from state.contracts import Fact

STOCK_TTL_S = 900.0
"""How long a stock reading may be relied on before it must be read again."""


class Inventory:
    """Stock levels by SKU, each with a version that moves on every change."""

    name = "inventory"

    def __init__(self, levels: dict[str, int]) -> None:
        self._levels = dict(levels)
        self._versions = dict.fromkeys(levels, 1)
        self._store: MutableMapping[str, str] | None = None

    def bind(self, store: MutableMapping[str, str]) -> None:
        """Keep levels and versions in ``store`` (shared by every process of the run)."""
        self._store = store
        if "state" in store:
            state = json.loads(store["state"])
            self._levels, self._versions = state["levels"], state["versions"]
        else:
            self._save()

    def _save(self) -> None:
        if self._store is not None:
            self._store["state"] = json.dumps({"levels": self._levels, "versions": self._versions})

    def read(self, key: str) -> Fact:
        """The stock of SKU ``key`` now (0, version 0 for an SKU never stocked)."""
        return Fact(
            value=self._levels.get(key, 0),
            source=self.name,
            key=key,
            version=self._versions.get(key, 0),
            as_of=utcnow(),
            ttl_s=STOCK_TTL_S,
        )

    def adjust(self, sku: str, delta: int) -> None:
        """Someone else moved stock: the level and the version change."""
        self._levels[sku] = self._levels.get(sku, 0) + delta
        self._versions[sku] = self._versions.get(sku, 0) + 1
        self._save()


@dataclass(frozen=True)
class Offer:
    """A supplier's price and lead time for one SKU."""

    supplier: str
    sku: str
    unit_price: float
    lead_days: int


CATALOGUE: tuple[Offer, ...] = (
    Offer("Northwind Furnishings", "SKU-CHAIR-01", 85.0, 7),
    Offer("Contoso Office", "SKU-CHAIR-01", 92.5, 3),
    Offer("Contoso Office", "SKU-DESK-02", 310.0, 10),
    Offer("Fabrikam Supply", "SKU-DESK-02", 295.0, 21),
    Offer("Fabrikam Supply", "SKU-MON-27", 240.0, 5),
    Offer("Northwind Furnishings", "SKU-MON-27", 255.0, 2),
    Offer("Contoso Office", "SKU-LAMP-03", 19.9, 4),
)

STARTING_STOCK: dict[str, int] = {
    "SKU-CHAIR-01": 5,
    "SKU-DESK-02": 2,
    "SKU-MON-27": 12,
    "SKU-LAMP-03": 0,
}


def offers_for(sku: str) -> list[Offer]:
    """Catalogue offers for ``sku``, cheapest first."""
    return sorted((o for o in CATALOGUE if o.sku == sku), key=lambda o: (o.unit_price, o.supplier))


class SupplierPortal:
    """Where orders are placed: the procurement workflow's one irreversible side effect.

    Like many supplier portals, it takes every order it is sent: it keeps the idempotency key
    with the order but does not dedup on it. So a call whose outcome is unknown must never be
    repeated blindly (``place_order`` is not ``retry_safe``).
    """

    name = "portal"

    def __init__(self) -> None:
        self.orders: dict[str, Json] = {}
        """Placed orders by reference (``ORD-0001``), each with the key it was sent."""
        self._store: MutableMapping[str, str] | None = None

    def bind(self, store: MutableMapping[str, str]) -> None:
        """Keep the placed orders in ``store`` (shared by every process of the run)."""
        self._store = store
        self.orders = {ref: json.loads(order) for ref, order in sorted(store.items())}

    def read(self, key: str) -> Fact:
        """The orders placed under PO number ``key`` (an empty list when there is none)."""
        found = [o for o in self.orders.values() if o["po_number"] == key]
        return Fact(value=found, source=self.name, key=key, version=len(found))

    def place(
        self, key: str, po_number: str, supplier: str, sku: str, quantity: int, total: float
    ) -> str:
        """Place an order (every call places one) and return its reference."""
        ref = f"ORD-{len(self.orders) + 1:04d}"
        self.orders[ref] = {
            "key": key,
            "po_number": po_number,
            "supplier": supplier,
            "sku": sku,
            "quantity": quantity,
            "total": total,
        }
        if self._store is not None:
            self._store[ref] = json.dumps(self.orders[ref])
        return ref

    def effects(self) -> list[tuple[str, Json]]:
        """Every order as the portal has it: (idempotency key, what was ordered)."""
        return [
            (o["key"], {k: v for k, v in o.items() if k != "key"}) for o in self.orders.values()
        ]


def new_sources() -> dict[str, Source]:
    """A run's sources of truth, freshly stocked."""
    return {"inventory": Inventory(STARTING_STOCK), "portal": SupplierPortal()}

"""Procurement orders of a chosen size, for tests that need totals in a given range.

Chairs: 5 in stock and 85.00 each from the cheapest supplier, so asking for ``n`` chairs orders
``n - 5`` of them for ``(n - 5) x 85``: 65 chairs is 5,100, just above the 5,000 approval limit.
"""

from __future__ import annotations


def chairs(n: int) -> dict[str, str]:
    """A purchase request for ``n`` chairs."""
    return {
        "request_id": f"R-{n}",
        "requester": "ana@example.com",
        "cost_center": "OPS-12",
        "text": f"Please order {n} units of SKU-CHAIR-01 for the new hires, needed by 2099-01-15.",
    }


def total(n: int) -> float:
    """What an order for ``n`` chairs costs."""
    return (n - 5) * 85.0

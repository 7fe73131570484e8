"""The refund workflow's world: an order book, the refund policy (it changes), and payments.

All in memory and deterministic, so the workflow runs offline with no API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from datetime import date

from graph import Json, Source
from state.clock import utcnow
from state.contracts import Fact

POLICY_KEY = "refunds"
POLICY_TTL_S = 3600.0
"""How long a reading of the policy may be relied on."""

ORDERS: dict[str, Json] = {
    "ORD-1001": {
        "customer_id": "C-100",
        "item": "desk lamp",
        "total": 49.90,
        "purchased": "2099-03-01",
    },
    "ORD-1002": {
        "customer_id": "C-200",
        "item": "standing desk",
        "total": 320.00,
        "purchased": "2099-03-05",
    },
    "ORD-1003": {
        "customer_id": "C-300",
        "item": "headphones",
        "total": 129.00,
        "purchased": "2099-01-10",
    },
    "ORD-1004": {
        "customer_id": "C-400",
        "item": "keyboard",
        "total": 89.00,
        "purchased": "2099-03-10",
    },
}

STARTING_POLICY: Json = {"window_days": 30, "max_refund": 500.0}


class OrderBook:
    """Orders by id (read-only here): who bought what, for how much, when."""

    name = "orders"

    def read(self, key: str) -> Fact:
        """Order ``key`` (value None, version 0 when there is no such order)."""
        order = ORDERS.get(key)
        return Fact(
            value=dict(order) if order else None,
            source=self.name,
            key=key,
            version=1 if order else 0,
            as_of=utcnow(),
        )


class PolicyBook:
    """The refund policy: a source of truth that changes, with a version per change."""

    name = "policy"

    def __init__(self, policy: Json) -> None:
        self._policy = dict(policy)
        self._version = 1
        self._store: MutableMapping[str, str] | None = None

    def bind(self, store: MutableMapping[str, str]) -> None:
        """Keep the policy and its version in ``store`` (shared by every process of the run)."""
        self._store = store
        if "state" in store:
            state = json.loads(store["state"])
            self._policy, self._version = state["policy"], state["version"]
        else:
            self._save()

    def _save(self) -> None:
        if self._store is not None:
            self._store["state"] = json.dumps({"policy": self._policy, "version": self._version})

    def read(self, key: str) -> Fact:
        """The policy now (``key`` is :data:`POLICY_KEY`)."""
        value = dict(self._policy) if key == POLICY_KEY else None
        return Fact(
            value=value,
            source=self.name,
            key=key,
            version=self._version if value else 0,
            as_of=utcnow(),
            ttl_s=POLICY_TTL_S,
        )

    def revise(self, **changes: float) -> None:
        """Someone changed the policy: new values, new version."""
        self._policy.update(changes)
        self._version += 1
        self._save()


class Payments:
    """Where refunds are paid: the workflow's one irreversible side effect.

    A payments API that dedups on the idempotency key (as card and payout APIs do): the same key
    pays once, whatever the number of calls, so ``issue_refund`` is ``retry_safe``.
    """

    name = "payments"

    def __init__(self) -> None:
        self.paid: dict[str, Json] = {}
        """Payments by idempotency key."""
        self.calls = 0

    def read(self, key: str) -> Fact:
        """The refunds paid for ticket ``key`` (an empty list when there is none)."""
        done = [p for p in self.paid.values() if p["ticket_id"] == key]
        return Fact(value=done, source=self.name, key=key, version=len(done))

    def pay(self, key: str, ticket_id: str, customer_id: str, amount: float) -> str:
        """Pay ``amount`` back to ``customer_id`` once per ``key``; the payment reference."""
        self.calls += 1
        if key not in self.paid:
            ref = f"PAY-{len(self.paid) + 1:04d}"
            self.paid[key] = {
                "ref": ref,
                "ticket_id": ticket_id,
                "customer_id": customer_id,
                "amount": amount,
            }
        return str(self.paid[key]["ref"])

    def effects(self) -> list[tuple[str, Json]]:
        """Every payment as the payments system has it: (idempotency key, what was paid)."""
        return [
            (key, {"ticket_id": p["ticket_id"], "customer_id": p["customer_id"],
                   "amount": p["amount"]})
            for key, p in self.paid.items()
        ]  # fmt: skip


_AMOUNT = re.compile(r"(?<![\w.-])[$€£]?(\d+\.\d{2})(?![\w.])|[$€£](\d+)(?![\w.])")


def amounts_in(text: str) -> set[float]:
    """Money amounts written in ``text`` (``49.90``, ``$50``)."""
    return {float(a or b) for a, b in _AMOUNT.findall(text)}


def days_between(start: str, end: date) -> int:
    """Whole days from ISO date ``start`` to ``end``."""
    return (end - date.fromisoformat(start)).days


def new_sources() -> dict[str, Source]:
    """A run's sources of truth, fresh."""
    return {"orders": OrderBook(), "policy": PolicyBook(STARTING_POLICY), "payments": Payments()}

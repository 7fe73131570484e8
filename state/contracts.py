"""Handoff contracts: the typed manifest ("waybill") that travels with every handoff.

A contract is a pydantic model. Two kinds of field carry extra meaning for the gates:

* ``carried`` fields (``Annotated[T, Carried()]``) must arrive unchanged from upstream: the
  fidelity check compares them with the value the producing stage received, as values
  (``Decimal("1.50") == Decimal("1.5")``), not as serialised text.
* ``Fact`` values hold something read from a source of truth, with its version and read time:
  the freshness check re-reads the source and fails when the version moved or the TTL expired.
  A fact is followed wherever it sits in a contract: a plain field, ``Fact | None``,
  ``list[Fact]``, ``dict[str, Fact]`` or a nested model.

Contracts forbid unknown fields, so an agent that invents fields fails the contract check.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Self, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from state.clock import utcnow


class Carried:
    """Marker for a field that must equal its upstream value (fidelity)."""

    def __repr__(self) -> str:
        return "Carried()"


class Contract(BaseModel):
    """Base class of every handoff contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def carried_fields(cls) -> list[str]:
        """Names of the fields marked ``Carried()``."""
        return [
            name
            for name, info in cls.model_fields.items()
            if any(isinstance(m, Carried) for m in info.metadata)
        ]

    @classmethod
    def fact_fields(cls) -> list[str]:
        """Names of the fields that can hold a :class:`Fact`, in any shape."""
        return [name for name, info in cls.model_fields.items() if holds_facts(info.annotation)]

    @classmethod
    def carry(cls, source: BaseModel, **values: Any) -> Self:
        """This contract from ``source``'s fields of the same names, with ``values`` added or
        replaced: what a stage hands on unchanged, and what it decided.

        Example:
            >>> StockReport.carry(spec, stock=fact, order_quantity=12)  # doctest: +SKIP
        """
        kept = {k: getattr(source, k) for k in cls.model_fields if k in type(source).model_fields}
        return cls(**(kept | values))

    def facts(self) -> list[tuple[str, Fact]]:
        """Every fact in this contract with its dotted path (``stock``, ``readings.0``)."""
        return list(facts_in(self))


def holds_facts(annotation: Any, _seen: frozenset[type] = frozenset()) -> bool:
    """True when a value of type ``annotation`` can contain a :class:`Fact`."""
    if isinstance(annotation, type):
        if issubclass(annotation, Fact):
            return True
        if issubclass(annotation, BaseModel) and annotation not in _seen:
            seen = _seen | {annotation}
            return any(holds_facts(f.annotation, seen) for f in annotation.model_fields.values())
        return False
    return any(holds_facts(arg, _seen) for arg in get_args(annotation))


def facts_in(value: Any, path: str = "") -> Iterator[tuple[str, Fact]]:
    """Every :class:`Fact` inside ``value`` (models, lists, tuples, dict values), with its path."""
    if isinstance(value, Fact):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from facts_in(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from facts_in(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from facts_in(item, f"{path}.{i}" if path else str(i))


def same_value(a: Any, b: Any) -> bool:
    """Equality as a user means it: numbers by value (floats within 1e-9), models by fields.

    ``Decimal("10000.490")`` equals ``Decimal("10000.49")``, ``1`` equals ``1.0``, and a list
    equals another item by item; a date equals only a date.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        return Decimal(a) == Decimal(b)
    if isinstance(a, BaseModel) and isinstance(b, BaseModel):
        if type(a).model_fields.keys() != type(b).model_fields.keys():
            return False
        return all(same_value(getattr(a, k), getattr(b, k)) for k in type(a).model_fields)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


class Fact(BaseModel):
    """A value read from a source of truth, stamped with where, which version and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Any
    source: str = Field(description="Name of the source of truth (registered per run).")
    key: str = Field(description="Key of the value in that source.")
    version: int = Field(description="Version of the value when it was read.")
    as_of: datetime = Field(default_factory=utcnow, description="When it was read.")
    ttl_s: float | None = Field(default=None, description="Seconds the read stays valid.")

    @property
    def ref(self) -> str:
        """``source/key``: which value of which source of truth this is."""
        return f"{self.source}/{self.key}"

    def expired(self, now: datetime) -> bool:
        """True when the TTL has passed at ``now``."""
        return self.ttl_s is not None and (now - self.as_of).total_seconds() > self.ttl_s

    def moved(self, current: Fact) -> bool:
        """True when ``current`` (this fact's source read again) is not this fact any more:
        another version, or another value at the same version — a source that does not count
        its versions, or a payload whose value was edited (a human's edit, a fork's ``--set``)
        while its version was kept."""
        if current.version != self.version:
            return True
        here, there = to_jsonable_python(self.value), to_jsonable_python(current.value)
        return not same_value(here, there)

    def decided(self) -> dict[str, Any]:
        """What a decision made on this fact depends on: which value, which version (not when
        it was read), so that reading the same version again is the same decision."""
        return {
            "source": self.source,
            "key": self.key,
            "version": self.version,
            "value": self.value,
        }

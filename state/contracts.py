"""Handoff contracts: the typed manifest ("waybill") that travels with every handoff.

A contract is a pydantic model. Two kinds of field carry extra meaning for the gates:

* ``carried`` fields (``Annotated[T, Carried()]``) must arrive unchanged from upstream: the
  fidelity check compares them with the value the producing stage received.
* ``Fact`` fields hold a value read from a source of truth, with its version and read time: the
  freshness check re-reads the source and fails when the version moved or the TTL expired.

Contracts forbid unknown fields, so an agent that invents fields fails the contract check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
        """Names of the fields typed as a :class:`Fact`."""
        return [
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.annotation, type) and issubclass(info.annotation, Fact)
        ]


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the schemas use."""
    return datetime.now(UTC)


class Fact(BaseModel):
    """A value read from a source of truth, stamped with where, which version and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Any
    source: str = Field(description="Name of the source of truth (registered per run).")
    key: str = Field(description="Key of the value in that source.")
    version: int = Field(description="Version of the value when it was read.")
    as_of: datetime = Field(default_factory=utcnow, description="When it was read.")
    ttl_s: float | None = Field(default=None, description="Seconds the read stays valid.")

    def expired(self, now: datetime) -> bool:
        """True when the TTL has passed at ``now``."""
        return self.ttl_s is not None and (now - self.as_of).total_seconds() > self.ttl_s

"""What the door tests share: a run that hands back the sources of truth it acted on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.procurement.domain import SupplierPortal
from graph.chain import Chain
from graph.context import RunContext, source_of
from graph.runtime.runner import Decider, RunOutcome, run_chain
from state.sources import Source


def run_with_sources(
    chain: Chain,
    request: dict[str, Any],
    inject: str | None = None,
    *,
    decide: Decider | None = None,
) -> tuple[RunOutcome, Mapping[str, Source]]:
    """Run ``chain`` as run ``r1``; its outcome, and the sources its actions changed."""
    ctx = RunContext(run_id="r1", inject=inject, sources=chain.sources())
    out = run_chain(chain, request, inject=inject, run_id="r1", ctx=ctx, decide=decide)
    return out, ctx.sources


def portal_of(sources: Mapping[str, Source]) -> SupplierPortal:
    """The supplier portal a procurement run placed its orders with."""
    return source_of(sources, "portal", SupplierPortal)

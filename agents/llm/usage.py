"""What a run's model calls used, per stage and in total, as a user reads it.

For the command line and the console: the data is already typed (each ``DecisionRecord`` has
``tokens`` and ``cost``; the run state's ``usage`` has the totals), these only add them up and
write them the same way everywhere, e.g. ``1,234 tokens, $0.0012``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from state.decisions import DecisionRecord


@dataclass(frozen=True)
class StageUsage:
    """What one stage's agent calls used over a run (all its attempts)."""

    stage: str
    calls: int
    """Decisions that reported usage (a failed or refused call reports none)."""
    tokens: int
    cost: float


def dollars(cost: float) -> str:
    """``$0.0012``: at least 4 decimals, up to 6 for the fractions of a cent one call costs."""
    text = f"{cost:,.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(4, '0')}"


def usage_text(tokens: int, cost: float) -> str:
    """``1,234 tokens, $0.0012``; empty when nothing was used (a rules brain)."""
    if not tokens and not cost:
        return ""
    return f"{tokens:,} tokens, {dollars(cost)}"


def usage_by_stage(decisions: Iterable[DecisionRecord]) -> list[StageUsage]:
    """Usage per stage, in the order the stages first ran; stages that used nothing are left out."""
    totals: dict[str, tuple[int, int, float]] = {}
    for d in decisions:
        if not d.tokens and not d.cost:
            continue
        calls, tokens, cost = totals.get(d.stage, (0, 0, 0.0))
        totals[d.stage] = (calls + 1, tokens + d.tokens, cost + d.cost)
    return [StageUsage(stage, *t) for stage, t in totals.items()]


def usage_lines(decisions: Iterable[DecisionRecord]) -> list[str]:
    """A run's usage as lines: the total, then one line per stage (none for a rules-only run)."""
    stages = usage_by_stage(decisions)
    if not stages:
        return []
    tokens = sum(s.tokens for s in stages)
    cost = sum(s.cost for s in stages)
    lines = [f"model usage: {usage_text(tokens, cost)}"]
    width = max(len(s.stage) for s in stages)
    for s in stages:
        calls = f"{s.calls} call{'s' if s.calls != 1 else ''}"
        lines.append(f"  {s.stage:<{width}}  {usage_text(s.tokens, s.cost)} ({calls})")
    return lines

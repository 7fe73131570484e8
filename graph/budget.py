"""Budgets at run time: checked before spending (a stage run, a model call) and at every gate.

Every message names the limit and what was spent, e.g. ``budget:tokens: 1,240 of 1,000 tokens
spent``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from state.budgets import Budgets
from state.errors import WaybillError
from state.nodes import stage_node
from state.run_state import RunState
from state.verdicts import CheckResult, GateVerdict


class BudgetExhausted(WaybillError):  # noqa: N818 - reads as the state it reports
    """Raised by an agent (an LLM brain) that would exceed a budget with its next call.

    The stage ends the run ``failed`` with this message: the call is never made.
    """


@dataclass(frozen=True)
class BudgetLeft:
    """What a stage may still spend on model calls (None: no limit)."""

    tokens: int | None = None
    cost: float | None = None
    tokens_limit: int | None = None
    cost_limit: float | None = None
    tool_calls: int | None = None
    tool_calls_limit: int | None = None


def spent(state: RunState) -> tuple[int, float]:
    """Tokens and cost the run's model calls reported so far."""
    usage = state.get("usage", {})
    return int(usage.get("tokens", 0)), float(usage.get("cost", 0.0))


def left(budgets: Budgets, state: RunState) -> BudgetLeft:
    """What is left of the token and cost budgets."""
    tokens, cost = spent(state)
    return BudgetLeft(
        tokens=None if budgets.max_tokens is None else budgets.max_tokens - tokens,
        cost=None if budgets.max_cost is None else budgets.max_cost - cost,
        tokens_limit=budgets.max_tokens,
        cost_limit=budgets.max_cost,
        tool_calls=None
        if budgets.max_tool_calls is None
        else budgets.max_tool_calls - int(state.get("usage", {}).get("tool_calls", 0)),
        tool_calls_limit=budgets.max_tool_calls,
    )


def before_stage(budgets: Budgets, state: RunState, stage: str) -> str | None:
    """Why ``stage`` must not run (a budget already spent), or None.

    The step budget counts stage runs: with ``max_steps=2`` a third stage never starts.
    """
    steps = int(state.get("steps", 0))
    if steps >= budgets.max_steps:
        return (
            f"budget:steps exhausted before '{stage}' could run: {steps} of "
            f"{budgets.max_steps} stage runs used"
        )
    tokens, cost = spent(state)
    if budgets.max_tokens is not None and tokens >= budgets.max_tokens:
        return (
            f"budget:tokens exhausted before '{stage}' could run: {tokens:,} of "
            f"{budgets.max_tokens:,} tokens spent"
        )
    if budgets.max_cost is not None and cost >= budgets.max_cost:
        return (
            f"budget:cost exhausted before '{stage}' could run: {cost:,.4f} of "
            f"{budgets.max_cost:,.4f} spent"
        )
    return None


@dataclass(frozen=True)
class Limit:
    """One budget as a gate sees it."""

    name: str
    ok: bool
    spent: str
    limit: str


def limits(budgets: Budgets, state: RunState, now: float | None = None) -> list[Limit]:
    """The run-wide budgets, each with what was spent (for a gate's budget check)."""
    tokens, cost = spent(state)
    steps = int(state.get("steps", 0))
    started = state.get("started_at", time.time())
    waited = float(state.get("waited_s", 0.0))  # time people took to decide is not the run's
    elapsed = (now if now is not None else time.time()) - started - waited
    out = [
        Limit("budget:steps", steps <= budgets.max_steps, f"{steps}", f"{budgets.max_steps}"),
        Limit(
            "budget:wall_time",
            elapsed <= budgets.max_wall_s,
            f"{elapsed:,.1f}s",
            f"{budgets.max_wall_s:,.1f}s",
        ),
    ]
    if budgets.max_tokens is not None:
        out.append(
            Limit(
                "budget:tokens",
                tokens <= budgets.max_tokens,
                f"{tokens:,}",
                f"{budgets.max_tokens:,}",
            )
        )
    if budgets.max_cost is not None:
        out.append(
            Limit(
                "budget:cost", cost <= budgets.max_cost, f"{cost:,.4f}", f"{budgets.max_cost:,.4f}"
            )
        )
    if budgets.max_tool_calls is not None:
        calls = int(state.get("usage", {}).get("tool_calls", 0))
        ok = calls <= budgets.max_tool_calls
        out.append(Limit("budget:tool_calls", ok, f"{calls}", f"{budgets.max_tool_calls}"))
    return out


def refusal(stage: str, state: RunState, why: str, at: datetime) -> dict[str, Any]:
    """The update of a stage that refuses to spend: a ``block`` verdict (FM-1.5), run failed.

    The verdict is given by the stage node itself (``gate`` names the stage): nothing ran.
    """
    check = CheckResult(
        check="budget",
        name=why.split(" ", 1)[0],
        ok=False,
        on_fail="block",
        mast=["FM-1.5"],
        detail=why,
    )
    verdict = GateVerdict(
        node=stage_node(stage),
        source=stage,
        target=stage,
        handoff_seq=len(state.get("handoffs", [])),
        decision="block",
        checks=[check],
        mast=["FM-1.5"],
        reasons=[f"[budget] {why}"],
        score=0.0,
        at=at,
    )
    return {
        "verdicts": [verdict.model_dump(mode="json")],
        "status": "failed",
        "reason": f"'{stage}' did not run: {why}",
    }

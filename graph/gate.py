"""The evaluator node on every edge, and its pure router.

The gate node writes exactly one ``GateVerdict``; the router only reads it. Failing closed: a
check that raises fails; any failed check stops the payload from moving on.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

from langgraph.runtime import Runtime

from graph.chain import END, Chain, Edge
from graph.checks import GateInput, run_checks
from graph.context import RunContext
from state.mast import MastCode
from state.run_state import TERMINAL, RunState
from state.verdicts import CheckResult, GateDecision, GateVerdict

_SEVERITY: dict[str, int] = {"revise": 1, "escalate": 2, "block": 3}


def decide(
    checks: list[CheckResult], revisions_used: int, max_revisions: int
) -> tuple[GateDecision, list[str]]:
    """The gate's decision from its checks: the most severe failure wins.

    ``revise`` becomes ``escalate`` once the edge's revision budget is spent, so a producer that
    cannot fix its output is handed to a human instead of looping.
    """
    failed = [c for c in checks if not c.ok]
    reasons = [f"[{c.check}] {c.detail}" for c in failed]
    if not failed:
        return "pass", reasons
    worst = max(failed, key=lambda c: _SEVERITY[c.on_fail]).on_fail
    if worst == "revise" and revisions_used >= max_revisions:
        reasons.append(
            f"revision budget of this edge exhausted ({revisions_used} of {max_revisions} used)"
        )
        return "escalate", reasons
    decision: GateDecision = worst
    return decision, reasons


def deliver(edge: Edge, payload: dict[str, Any], seq: int) -> dict[str, Any]:
    """State update that hands ``payload`` over ``edge`` (or finishes the run at END)."""
    update: dict[str, Any] = {"traversals": {edge.id: 1}}
    if edge.target == END:
        update |= {"status": "succeeded", "reason": f"finished by '{edge.source}'"}
    else:
        update["inbox"] = {edge.target: {"payload": payload, "source": edge.source, "seq": seq}}
    return update


def make_gate_node(chain: Chain, edge: Edge) -> Any:
    """The gate node of ``edge``."""

    def gate(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        stop = ctx.should_stop(edge.source)
        if stop:
            return {"status": "killed", "reason": stop}
        handoff = state["handoffs"][-1]
        g = GateInput(
            chain=chain,
            edge=edge,
            handoff=handoff,
            state=state,
            ctx=ctx,
            sources=ctx.sources_for(f"{edge.gate}|{handoff['seq']}"),
        )
        checks = run_checks(g)
        used = int(state.get("revisions", {}).get(edge.id, 0))
        decision, reasons = decide(checks, used, chain.budgets.max_revisions_per_edge)
        if decision == "revise" and handoff["by"].startswith("human:"):
            # Revising would hand a person's edit back to the agent, which would overwrite it.
            decision = "escalate"
            reasons.append("the edit of a human failed its checks: back to a human")
        mast: list[MastCode] = sorted({code for c in checks if not c.ok for code in c.mast})
        verdict = GateVerdict(
            gate=edge.gate,
            source=edge.source,
            target=edge.target,
            handoff_seq=handoff["seq"],
            decision=decision,
            checks=checks,
            mast=mast,
            reasons=reasons,
            score=round(sum(c.ok for c in checks) / len(checks), 3) if checks else 1.0,
            at=ctx.clock(),
        )
        update: dict[str, Any] = {"verdicts": [verdict.model_dump(mode="json")]}
        if decision == "pass":
            update |= deliver(edge, handoff["payload"], handoff["seq"])
        elif decision == "revise":
            update |= {"feedback": {edge.source: reasons}, "revisions": {edge.id: 1}}
        elif decision == "block":
            update |= {"status": "failed", "reason": f"{edge.gate} blocked: " + "; ".join(reasons)}
        return update

    gate.__name__ = f"gate_{edge.source}_{edge.target}"
    return gate


def route_gate(state: RunState) -> Literal["pass", "revise", "escalate", "block"]:
    """Pure router after a gate: follows the verdict it just wrote (or stops a killed run)."""
    if state.get("status") in TERMINAL:
        return "block"
    decision: GateDecision = state["verdicts"][-1]["decision"]
    return decision


def gate_path_map(edge: Edge) -> dict[Hashable, str]:
    """Where each gate decision leads, for ``add_conditional_edges``."""
    return {
        "pass": END if edge.target == END else edge.target,
        "revise": edge.source,
        "escalate": edge.review,
        "block": END,
    }

"""The evaluator node on every edge, and its pure router.

The gate node writes exactly one ``GateVerdict``; the router only reads it. Failing closed: a
check that raises fails; any failed check stops the payload from moving on. A passed proposal
of a stage with actions goes to the stage's ``act`` node (the commit); otherwise the gate
delivers it to the next stage itself.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from langgraph.runtime import Runtime

from graph.chain import Chain, Edge
from graph.checks import GateInput, run_checks
from graph.context import NodeFn, RunContext
from graph.lineage import refresh_targets
from state.mast import MastCode
from state.nodes import END, act_node
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


def send_back_to(checks: list[CheckResult], producer: str) -> str | None:
    """For a revise: the stage that must work again, when it is not the producer.

    Only when every failure is a stale fact read upstream of the producer (which only passed it
    on): the producer cannot refresh it, the stage that read it can. Any other failure is the
    producer's to fix first.
    """
    failed = [c for c in checks if not c.ok]
    readers = {c.send_back_to for c in failed}
    if len(readers) == 1 and all(c.check == "freshness" for c in failed):
        reader = readers.pop()
        return reader if reader not in (None, producer) else None
    return None


def _back_to(chain: Chain, edge: Edge, checks: list[CheckResult]) -> str | None:
    back = send_back_to(checks, edge.source)
    return back if back in refresh_targets(chain, edge.source) else None


def deliver(edge: Edge, payload: dict[str, Any], seq: int) -> dict[str, Any]:
    """State update that hands ``payload`` over ``edge`` (or finishes the run at END)."""
    update: dict[str, Any] = {"traversals": {edge.id: 1}}
    if edge.target == END:
        update |= {"status": "succeeded", "reason": f"finished by '{edge.source}'"}
    else:
        update["inbox"] = {edge.target: {"payload": payload, "source": edge.source, "seq": seq}}
    return update


def verdict_update(
    chain: Chain, edge: Edge, verdict: GateVerdict, payload: dict[str, Any]
) -> dict[str, Any]:
    """What a verdict does to the run: deliver, send back, or end it."""
    update: dict[str, Any] = {"verdicts": [verdict.model_dump(mode="json")]}
    if verdict.decision == "pass":
        if not chain.stage(edge.source).actions:
            update |= deliver(edge, payload, verdict.handoff_seq)
    elif verdict.decision == "revise":
        again = verdict.send_back_to or edge.source
        update |= {"feedback": {again: verdict.reasons}, "revisions": {edge.id: 1}}
    elif verdict.decision == "block":
        reason = f"{edge.gate} blocked: " + "; ".join(verdict.reasons)
        update |= {"status": "failed", "reason": reason}
    return update


def make_gate_node(chain: Chain, edge: Edge) -> NodeFn:
    """The gate node of ``edge``."""

    def gate(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        handoff = state["handoffs"][-1]
        scope = f"{edge.gate}|{handoff['seq']}"
        g = GateInput(
            chain=chain,
            edge=edge,
            handoff=handoff,
            state=state,
            ctx=ctx,
            sources=ctx.sources_for(scope),
            now=ctx.now(scope),
            record=ctx.recorder(scope),
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
            node=edge.gate_ref,
            source=edge.source,
            target=edge.target,
            handoff_seq=handoff["seq"],
            decision=decision,
            checks=checks,
            mast=mast,
            reasons=reasons,
            score=round(sum(c.ok for c in checks) / len(checks), 3) if checks else 1.0,
            at=g.now,
            send_back_to=_back_to(chain, edge, checks) if decision == "revise" else None,
        )
        update = verdict_update(chain, edge, verdict, handoff["payload"])
        if g.spend:  # an LLM judge's call counts against the run's budgets like an agent's
            update["usage"] = dict(g.spend)
        return update

    gate.__name__ = f"gate_{edge.source}_{edge.target}"
    return gate


def route_gate(state: RunState) -> str:
    """Pure router after a gate: follows the verdict it just wrote (or stops a killed run).

    Returns ``pass``, ``revise``, ``escalate``, ``block``, or ``refresh <stage>`` for a revise
    that goes to the stage that read a stale fact.
    """
    if state.get("status") in TERMINAL:
        return "block"
    verdict = state["verdicts"][-1]
    if verdict["decision"] == "revise" and verdict.get("send_back_to"):
        return f"refresh {verdict['send_back_to']}"
    decision: GateDecision = verdict["decision"]
    return decision


def gate_path_map(chain: Chain, edge: Edge) -> dict[Hashable, str]:
    """Where each gate decision leads, for ``add_conditional_edges``."""
    passed = END if edge.target == END else edge.target
    if chain.stage(edge.source).actions:
        passed = act_node(edge.source).name
    path: dict[Hashable, str] = {
        "pass": passed,
        "revise": edge.source,
        "escalate": edge.review,
        "block": END,
    }
    for stage in refresh_targets(chain, edge.source):
        path[f"refresh {stage}"] = stage
    return path

"""The human review node of an edge: where a gate's ``escalate`` verdict waits for a person.

It builds an ``EscalationRequest`` from the verdict the gate already wrote and pauses with
``interrupt()``; nothing in it has a side effect before the interrupt, so re-running it on resume
is safe. Approve hands the payload on; edit sends the edited payload back through the gate
(fail closed: a human's edit is checked like any handoff); reject ends the run.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.chain import Chain, Edge
from graph.context import NodeFn, RunContext
from graph.gate import deliver
from graph.hashing import decision_hash, unstorable
from state.decisions import Decision, DecisionAction, EscalationRequest, resume_decision
from state.nodes import END, act_node
from state.run_events import HumanDecided
from state.run_state import TERMINAL, Handoff, RunState
from state.verdicts import GateVerdict


def escalation_for(chain: Chain, edge: Edge, state: RunState, run_id: str) -> EscalationRequest:
    """The request a human sees for the last verdict of ``edge``'s gate."""
    verdict = GateVerdict.model_validate(state["verdicts"][-1])
    handoff = state["handoffs"][-1]
    owner = chain.stage(edge.source).owner
    # A payload that is not a valid contract cannot be handed on as it is: the consuming stage
    # could not even read it. A human may fix it (edit) or stop the run, not wave it through.
    contract_failed = any(c.check in ("agent", "contract") for c in verdict.failed)
    allowed: list[DecisionAction] = (
        ["edit", "reject"] if contract_failed else ["approve", "edit", "reject"]
    )
    return EscalationRequest(
        kind="gate",
        run_id=run_id,
        stage=edge.source,
        target=edge.target,
        what=f"{edge.gate} escalated handoff #{handoff['seq']} from '{edge.source}' "
        f"(owner: {owner})",
        why=verdict.reasons,
        proposed=handoff["payload"],
        contract=handoff["contract"],
        verdict=verdict,
        allowed=allowed,
        scope=f"review|{edge.id}|{handoff['seq']}",
        group=owner,
    )


def _allowed(decision: Decision, request: EscalationRequest) -> Decision:
    if decision.action in request.allowed:
        return decision
    # Callers check this first; a decision that slips through fails closed.
    return decision.model_copy(
        update={
            "action": "reject",
            "comment": f"'{decision.action}' is not allowed here: treated as reject",
        }
    )


def _edited_handoff(state: RunState, decision: Decision) -> Handoff:
    """The human's edit as the next handoff, which goes back through the edge's gate."""
    edited = decision.edited or {}
    bad = unstorable(edited)
    if bad:  # never stored as it is: its gate sends it back to a human
        edited = {}
    return {
        **state["handoffs"][-1],
        "seq": len(state["handoffs"]) + 1,
        "payload": edited,
        "hash": decision_hash(edited),
        "by": f"human:{decision.user}",
        "error": f"the edit holds a value no run can store ({bad})" if bad else "",
    }


def make_review_node(chain: Chain, edge: Edge) -> NodeFn:
    """The review node of ``edge``."""

    def review(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        request = escalation_for(chain, edge, state, ctx.run_id)
        decision = resume_decision(interrupt(request.model_dump(mode="json")))
        if ctx.tape is not None:
            ctx.tape.human(request.scope, decision.model_dump(mode="json"))
        decision = _allowed(decision, request)
        handoff = state["handoffs"][-1]
        record = HumanDecided(
            node=edge.review_ref, handoff_seq=handoff["seq"], what=request.what, decision=decision
        )
        update: dict[str, Any] = {"human": [record.model_dump(mode="json")]}
        if decision.action == "approve":
            if not chain.stage(edge.source).actions:  # else the act node commits it
                update |= deliver(edge, handoff["payload"], handoff["seq"])
        elif decision.action == "edit":
            update["handoffs"] = [_edited_handoff(state, decision)]
        else:
            update |= {
                "status": "rejected",
                "reason": f"rejected by {decision.user} at {edge.gate}"
                + (f": {decision.comment}" if decision.comment else ""),
            }
        return update

    review.__name__ = f"review_{edge.source}_{edge.target}"
    return review


def route_review(state: RunState) -> Literal["approve", "edit", "reject"]:
    """Pure router after a review: follows the human's decision (a killed run stops)."""
    if state.get("status") in TERMINAL and state["status"] != "succeeded":
        return "reject"
    action = state["human"][-1]["decision"]["action"]
    return "approve" if action == "approve" else "edit" if action == "edit" else "reject"


def review_path_map(chain: Chain, edge: Edge) -> dict[Hashable, str]:
    """Where each human decision leads, for ``add_conditional_edges``.

    An approved proposal of a stage with actions goes to its ``act`` node: the approval of a
    gate's escalation is not the approval of an action (that one is asked there, if its tier
    says so, after the facts are read again).
    """
    approved = END if edge.target == END else edge.target
    if chain.stage(edge.source).actions:
        approved = act_node(edge.source).name
    return {"approve": approved, "edit": edge.gate, "reject": END}

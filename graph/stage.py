"""The node that runs one stage's agent, injects a fault if asked, and runs its actions."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import ValidationError

from graph.actions import run_actions
from graph.agent import AgentContext
from graph.chain import Chain, FaultContext, Stage
from graph.context import RunContext
from graph.hashing import payload_hash
from state.contracts import Contract, Fact
from state.decisions import DecisionRecord
from state.run_state import TERMINAL, Handoff, RunState


class StageError(RuntimeError):
    """A stage broke its declaration (e.g. routed to an edge it does not have)."""


def _input_of(chain: Chain, stage: Stage, state: RunState) -> tuple[Contract, int]:
    """The contract delivered to ``stage``, typed as its producer declared it."""
    delivery = state.get("inbox", {}).get(stage.name)
    if delivery is not None:
        contract = chain.stage(delivery["source"]).produces
        return contract.model_validate(delivery["payload"]), delivery["seq"]
    if stage.name == chain.entry:
        return stage.consumes.model_validate(state["request"]), 0
    raise StageError(f"stage '{stage.name}' ran with nothing delivered to it")


def _target(stage: Stage, chain: Chain, output: Contract) -> str:
    targets = [e.target for e in chain.out_edges(stage.name)]
    target = stage.route(output) if stage.route is not None else targets[0]
    if target not in targets:
        raise StageError(
            f"stage '{stage.name}' routed to '{target}', which is not one of its edges {targets}"
        )
    return target


def _as_contract(contract: type[Contract], payload: dict[str, Any]) -> Contract:
    """The payload as its contract, for routing; unvalidated when it does not validate."""
    try:
        return contract.model_validate(payload)
    except ValidationError:
        return contract.model_construct(
            **{k: v for k, v in payload.items() if k in contract.model_fields}
        )


def _facts(output: Contract) -> dict[str, dict[str, Any]]:
    facts = {}
    for name in output.fact_fields():
        fact = getattr(output, name)
        if isinstance(fact, Fact):
            facts[f"{fact.source}/{fact.key}"] = fact.model_dump(mode="json")
    return facts


def make_stage_node(chain: Chain, stage: Stage) -> Any:
    """The node of ``stage``."""

    def node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        stop = ctx.should_stop(stage.name)
        if stop:
            return {"status": "killed", "reason": stop}
        inp, input_seq = _input_of(chain, stage, state)
        attempt = 1 + sum(
            1
            for h in state.get("handoffs", [])
            if h["stage"] == stage.name and h["input_seq"] == input_seq
        )
        scope = f"{stage.name}|{input_seq}|{attempt}"
        actx = AgentContext(
            run_id=ctx.run_id,
            stage=stage.name,
            attempt=attempt,
            feedback=list(state.get("feedback", {}).get(stage.name, [])),
            sources=ctx.sources_for(f"stage|{scope}"),
        )

        def call_agent() -> tuple[dict[str, Any], dict[str, Any]]:
            result = stage.agent(inp, actx)
            return result.output.model_dump(mode="json"), result.decision.model_dump(mode="json")

        # Through the tape: a node re-run on resume gets the agent's first answer again (no
        # second model call), and a replay gets the recorded one.
        payload, recorded = ctx.tape.agent(scope, call_agent) if ctx.tape else call_agent()
        agent_decision = DecisionRecord.model_validate(recorded)
        target = _target(stage, chain, _as_contract(stage.produces, payload))
        if ctx.inject:
            fault = chain.fault(ctx.inject)
            if fault.stage == stage.name and (fault.persistent or attempt == 1):
                payload = fault.apply(payload, FaultContext(ctx.run_id, ctx.sources))
        update: dict[str, Any] = {"steps": 1, "feedback": {stage.name: []}}
        try:
            output = stage.produces.model_validate(payload)
        except ValidationError:
            output = None  # the gate's contract check reports it; no action on a bad output
        if output is not None:
            target = _target(stage, chain, output)
            update["facts"] = _facts(output)
            if stage.actions:
                records, end = run_actions(stage, inp, output, ctx, scope)
                update["actions"] = [r.model_dump(mode="json") for r in records]
                if end:
                    update |= {"status": end[0], "reason": end[1]}
        decision = agent_decision.model_copy(
            update={
                "stage": stage.name,
                "agent": agent_decision.agent or getattr(stage.agent, "__name__", stage.name),
                "step": state.get("steps", 0) + 1,
            }
        )
        handoff: Handoff = {
            "seq": len(state.get("handoffs", [])) + 1,
            "stage": stage.name,
            "target": target,
            "contract": stage.produces.__name__,
            "payload": payload,
            "hash": payload_hash(payload),
            "attempt": attempt,
            "input_seq": input_seq,
            "by": decision.agent,
        }
        update |= {
            "handoffs": [handoff],
            "decisions": [decision.model_dump(mode="json")],
            "usage": {"tokens": decision.tokens, "cost": decision.cost},
        }
        return update

    node.__name__ = f"stage_{stage.name}"
    return node


def route_stage(state: RunState) -> str:
    """After a stage: to the gate of the edge it chose, or out when the run ended."""
    if state.get("status") in TERMINAL:
        return "stop"
    return state["handoffs"][-1]["target"]

"""What one stage's agent *proposes* (nothing is acted on here; the stage's node,
``graph.handoff``, has the gate judge the proposal in the same step).

A stage never takes an action: its proposal goes to the gate of the edge it chose, and only a
proposal the gate passed is committed (``graph.act``). An agent that raises, returns the wrong
type or cannot route is recorded on the handoff (``error``), and the gate fails it like any bad
handoff: revise within the edge's budget, then a human.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime
from pydantic import ValidationError

from graph import budget
from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, FaultContext, Stage
from graph.context import NodeFn, RunContext
from graph.hashing import decision_hash, unstorable
from graph.lineage import input_of
from graph.tools import ToolBox
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.run_state import FaultMark, Handoff, RunState


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def _wrong_type(stage: Stage[Any, Any], result: object) -> str:
    if not isinstance(result, AgentResult):
        return f"the agent returned {type(result).__name__}, not an AgentResult"
    if result.output is None:
        return ""  # an invalid answer, handed on as it is: the gate's contract check judges it
    if not isinstance(result.output, stage.produces):
        return (
            f"the agent returned a {type(result.output).__name__}; "
            f"'{stage.name}' produces {stage.produces.__name__}"
        )
    return ""


def call_agent(
    stage: Stage[Any, Any], inp: Contract, actx: AgentContext
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(payload, decision record)`` of one agent call; a failure is recorded, never raised.

    Only :class:`graph.budget.BudgetExhausted` propagates: the run must stop, not revise.
    """
    try:
        result = stage.agent(inp, actx)
        if isinstance(result, AgentResult):
            calls = {"tool_calls": actx.tools.calls}
            result = AgentResult(
                result.output, result.decision.model_copy(update=calls), result.raw
            )
        wrong = _wrong_type(stage, result)
        if not isinstance(result, AgentResult):
            record = DecisionRecord(chosen="nothing usable", rationale=wrong, confidence=0.0)
            return {}, record.model_dump(mode="json") | {"error": wrong}
        payload = result.payload()
        decision = result.decision.model_dump(mode="json")
        bad = unstorable(payload)
        if bad:  # the run could not even store it: nothing of it is handed on
            error = f"the agent's output holds a value no run can store ({bad})"
            return {}, decision | {"error": error}
        return payload, decision | ({"error": wrong} if wrong else {})
    except budget.BudgetExhausted:
        raise
    except Exception as exc:  # an agent's failure is a failed handoff, never a crashed run
        error = f"the agent raised {_error(exc)}"
        record = DecisionRecord(
            chosen="nothing: the agent failed",
            rationale=error,
            confidence=0.0,
            error=error,
            tool_calls=actx.tools.calls,
        )
        return {}, record.model_dump(mode="json")


def _target(chain: Chain, stage: Stage[Any, Any], payload: dict[str, Any]) -> tuple[str, str]:
    """The edge the stage chose, and an error when it could not choose one of its edges."""
    targets = [e.target for e in chain.out_edges(stage.name)]
    if stage.route is None:
        return targets[0], ""
    try:
        output = stage.produces.model_validate(payload)
    except ValidationError:
        return targets[0], ""  # the gate's contract check reports the invalid payload
    try:
        target = stage.route(output)
    except Exception as exc:
        return targets[0], f"the stage's route raised {_error(exc)}"
    if target not in targets:
        return targets[0], f"the stage routed to '{target}', which is not one of {targets}"
    return target, ""


def _facts(stage: Stage[Any, Any], payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    try:
        output = stage.produces.model_validate(payload)
    except ValidationError:
        return {}
    return {fact.ref: fact.model_dump(mode="json") for _, fact in output.facts()}


def _inject(
    chain: Chain,
    stage: Stage[Any, Any],
    state: RunState,
    ctx: RunContext,
    payload: dict[str, Any],
    seq: int,
) -> tuple[dict[str, Any], list[FaultMark]]:
    """The payload with the run's injected fault applied, if it strikes this stage now."""
    if not ctx.inject:
        return payload, []
    fault = chain.fault(ctx.inject)
    if fault.stage != stage.name or fault.when != "output":
        return payload, []
    if not fault.persistent and any(m["fault"] == fault.name for m in state.get("faults", [])):
        return payload, []  # a transient fault strikes once per run
    mark: FaultMark = {"fault": fault.name, "handoff_seq": seq}
    return fault.apply(payload, FaultContext(ctx.run_id, ctx.sources)), [mark]


def _live(key: str, compute: Callable[[], Any]) -> Any:
    return compute()


def _agent_context(
    chain: Chain, stage: Stage[Any, Any], state: RunState, ctx: RunContext, input_seq: int
) -> tuple[AgentContext, str]:
    """What the agent is told on this attempt, and the attempt's scope on the tape."""
    attempt = 1 + sum(
        1
        for h in state.get("handoffs", [])
        if h["stage"] == stage.name and h["input_seq"] == input_seq
    )
    scope = f"{stage.name}|{input_seq}|{attempt}"
    left = budget.left(chain.budgets, state)
    tools = ToolBox(
        stage.tools,
        scope=scope,
        record=ctx.tape.tool if ctx.tape is not None else _live,
        calls_left=left.tool_calls,
        calls_limit=left.tool_calls_limit,
    )
    actx = AgentContext(
        run_id=ctx.run_id,
        stage=stage.name,
        attempt=attempt,
        feedback=list(state.get("feedback", {}).get(stage.name, [])),
        sources=ctx.sources_for(f"stage|{scope}"),
        budget=left,
        tools=tools,
    )
    return actx, scope


def _ask(
    stage: Stage[Any, Any], inp: Contract, actx: AgentContext, ctx: RunContext, scope: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Through the tape: a node re-run on resume gets the agent's first answer again (no
    # second model call), and a replay gets the recorded one (failures included).
    if ctx.tape is not None:
        return ctx.tape.agent(scope, lambda: call_agent(stage, inp, actx))
    return call_agent(stage, inp, actx)


def _decision(stage: Stage[Any, Any], state: RunState, recorded: dict[str, Any]) -> DecisionRecord:
    agent_decision = DecisionRecord.model_validate(recorded)
    return agent_decision.model_copy(
        update={
            "stage": stage.name,
            "agent": agent_decision.agent or getattr(stage.agent, "__name__", stage.name),
            "step": state.get("steps", 0) + 1,
        }
    )


def _proposal(
    stage: Stage[Any, Any], handoff: Handoff, decision: DecisionRecord, marks: list[FaultMark]
) -> dict[str, Any]:
    """The node's state update: the handoff proposed to the gate and how it was decided."""
    return {
        "steps": 1,
        "feedback": {stage.name: []},
        "facts": _facts(stage, handoff["payload"]),
        "faults": marks,
        "handoffs": [handoff],
        "decisions": [decision.model_dump(mode="json")],
        "usage": {
            "tokens": decision.tokens,
            "cost": decision.cost,
            "tool_calls": decision.tool_calls,
        },
    }


def make_stage_node(chain: Chain, stage: Stage[Any, Any]) -> NodeFn:
    """The proposal of ``stage`` (its node runs it, then the gate: ``graph.handoff``)."""

    def node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        spent = budget.before_stage(chain.budgets, state, stage.name)
        if spent:
            return budget.refusal(stage.name, state, spent, ctx.clock())
        inp, input_seq = input_of(chain, stage, state)
        actx, scope = _agent_context(chain, stage, state, ctx, input_seq)
        try:
            payload, recorded = _ask(stage, inp, actx, ctx, scope)
        except budget.BudgetExhausted as exc:
            return budget.refusal(stage.name, state, str(exc), ctx.clock())
        decision = _decision(stage, state, recorded)
        seq = len(state.get("handoffs", [])) + 1
        payload, marks = _inject(chain, stage, state, ctx, payload, seq)
        target, route_error = _target(chain, stage, payload)
        handoff: Handoff = {
            "seq": seq,
            "stage": stage.name,
            "target": target,
            "contract": stage.produces.__name__,
            "payload": payload,
            "hash": decision_hash(payload),
            "attempt": actx.attempt,
            "input_seq": input_seq,
            "by": decision.agent,
            "error": decision.error or route_error,
        }
        return _proposal(stage, handoff, decision, marks)

    node.__name__ = f"stage_{stage.name}"
    return node

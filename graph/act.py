"""The commit step: the ``act <stage>`` node runs a stage's actions on the proposal its gate
passed — the only place in a run where the world changes.

For each action, in order, one action per run of the node (so each question to a human is
asked in the same order when LangGraph re-runs the node on resume):

1. the tier: ``approve`` asks a human, ``notify`` opens a veto window (the gate has passed, so
   a human never approves an unchecked payload);
2. the ledger: a recorded result means it was done (a re-run never repeats it); an intent
   without a result means the worker died mid-call or the call raised: a ``retry_safe`` action
   is called again with the same key, any other is handed to a human (confirm done / retry /
   abort), never called blindly a second time;
3. every fact the payload depends on (in the stage's input and output) is read again: a fact
   that moved means no action, a verdict tagged FM-3.2, and the work goes back to the stage
   that read it (or to a human once the edge's revision budget is spent);
4. the intent is recorded, the action called with its idempotency key, the result recorded.

When the last action is done, the proposal is delivered to the next stage (or ends the run).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from langgraph.runtime import Runtime

from graph.actions import (
    action_key,
    ask,
    moved_facts,
    needs_human,
    resolve_policy,
    tier_request,
    unknown_request,
)
from graph.chain import Action, Chain, Stage
from graph.commit import (
    Commit,
    done_before,
    executed_on,
    human_authors,
    stale,
    strike_before_action,
    visit,
)
from graph.context import NodeFn, RunContext
from graph.gate import deliver
from graph.lineage import input_of, refresh_targets
from state.contracts import Fact
from state.decisions import Decision
from state.nodes import END, act_node
from state.run_state import TERMINAL, RunState
from state.verdicts import CheckResult


class WorkerCrash(BaseException):
    """A simulated worker death between an action's call and its record (``after_call``
    faults). A ``BaseException``: nothing in a node may catch it, as nothing catches SIGKILL."""


RETRY_SAFE_CALLS = 3
"""Calls of a ``retry_safe`` action that raised before a human is asked (a system that keeps
failing is a human's to look at, even when calling it again is harmless)."""


def _unknown(c: Commit, action: Action[Any], key: str) -> tuple[Decision | None, dict[str, Any]]:
    """An intent without a result: ask a human unless the action is safe to call again."""
    entry = c.ctx.ledger.entry(key)
    assert entry is not None
    failed = sum(
        1
        for a in c.state.get("actions", [])
        if a["action"] == action.name and a.get("handoff_seq") == c.seq and a["status"] == "unknown"
    )
    if action.retry_safe and failed < RETRY_SAFE_CALLS:
        return None, {}
    request = unknown_request(c.stage, action, key, entry, c.ctx, f"{c.stage.name}|{c.seq}")
    decision = ask(request, c.ctx)
    check = CheckResult(
        check="action",
        name=f"action:{action.name}",
        ok=False,
        on_fail="escalate",
        mast=["FM-3.2"],
        detail=f"outcome unknown ({request.why[0]}): {decision.action} by {decision.user}",
    )
    return decision, {"verdicts": [c.verdict("escalate", [check])]}


def _call(c: Commit, action: Action[Any], key: str, by: str | None, first: bool) -> dict[str, Any]:
    """Call the action (its intent is recorded) and record what came back; a replay never
    calls one (it has no recorded result for it: the run never made that call)."""
    if c.ctx.tape is not None and c.ctx.tape.mode == "replay":
        rec = c.record(action, status="simulated", idempotency_key=key, decided_by=by)
        return {"actions": [rec]}
    try:
        result = action.run(c.output, key, c.ctx.sources)
    except Exception as exc:
        # It may have done something before it raised: the outcome is unknown, and the next run
        # of this node asks a human (a new question, not a replay of an earlier answer).
        error = _error(exc)
        c.ctx.ledger.fail(key, error)
        rec = c.record(action, status="unknown", idempotency_key=key, error=error, decided_by=by)
        return {"actions": [rec]}
    fault = c.chain.fault(c.ctx.inject) if c.ctx.inject else None
    crash = fault is not None and fault.when == "after_call" and fault.stage == c.stage.name
    if first and crash and fault is not None and fault.name not in c.ctx.struck:
        c.ctx.struck.add(fault.name)
        raise WorkerCrash(f"{fault.name}: the worker died after calling '{action.name}'")
    c.ctx.ledger.finish(key, result)
    rec = c.record(action, status="executed", idempotency_key=key, result=result, decided_by=by)
    return {"actions": [rec]}


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _approval(c: Commit, action: Action[Any], key: str) -> tuple[str | None, dict[str, Any]]:
    """The tier's question, asked once per proposal: ``(who approved, refusal update)``."""
    policy = resolve_policy(action, c.output, c.ctx.limits)
    tier = policy.tier
    earlier = [  # of this run: a fork's copied records carry no approval (another key)
        a
        for a in c.state.get("actions", [])
        if a["action"] == action.name
        and a.get("handoff_seq") == c.seq
        and a.get("idempotency_key") == key
    ]
    if earlier:  # asked in an earlier run of this node (its call then failed)
        return earlier[-1].get("decided_by"), {}
    if not needs_human(tier, c.ctx):
        return None, {}
    args = action.args(c.output)
    scope = f"{c.stage.name}|{c.seq}"
    request = tier_request(c.stage, action, args, policy, c.ctx, scope, human_authors(c.state))
    decision = ask(request, c.ctx)
    if decision.action == "approve":
        return decision.user, {}
    verb = "vetoed" if tier == "notify" else "rejected"
    comment = f": {decision.comment}" if decision.comment else ""
    rec = c.record(action, status=verb, idempotency_key=key, decided_by=decision.user)
    reason = f"action '{action.name}' {verb} by {decision.user}{comment}"
    return decision.user, {"actions": [rec], "status": "rejected", "reason": reason}


def _resolve_unknown(c: Commit, action: Action[Any], key: str, by: str | None) -> dict[str, Any]:
    """Confirm done, retry (same key) or abort an action whose outcome is unknown."""
    answer, update = _unknown(c, action, key)
    if answer is not None and answer.action == "approve":
        result = {"confirmed_by": answer.user, "comment": answer.comment}
        c.ctx.ledger.finish(key, result)
        rec = c.record(
            action, status="executed", idempotency_key=key, result=result, decided_by=answer.user
        )
        return update | {"actions": [rec]}
    if answer is not None and answer.action != "retry":
        rec = c.record(action, status="aborted", idempotency_key=key, decided_by=answer.user)
        reason = f"action '{action.name}' outcome unknown; aborted by {answer.user}"
        return update | {"actions": [rec], "status": "rejected", "reason": reason}
    retries = sum(1 for a in c.state.get("actions", []) if a.get("idempotency_key") == key)
    moved = _moved(c, action, f"|retry {retries}")  # a retry acts on facts read again, too
    if moved:
        return _merge(update, stale(c, action, moved))
    entry = c.ctx.ledger.entry(key)
    c.ctx.ledger.begin(key, entry.args if entry else action.args(c.output))
    return _merge(update, _call(c, action, key, by, first=False))


def _moved(c: Commit, action: Action[Any], call: str = "") -> list[tuple[Fact, Fact]]:
    """The facts of the proposal (the stage's input and output) that moved since they were
    read, re-read just before ``action`` is called (``call`` names a call after the first: the
    tape keeps each call's reads apart, so a retry reads the sources again)."""
    sources = c.ctx.sources_for(f"act|{c.stage.name}|{c.seq}|{action.name}{call}")
    return moved_facts([c.inp, c.output], sources)


def commit(c: Commit, action: Action[Any]) -> dict[str, Any]:
    """Take (or refuse) one action; the update says what happened."""
    ctx = c.ctx
    n = visit(c.state, c.stage.name, action.name, c.seq)
    key = action_key(ctx.run_id, c.stage.name, action.name, n)
    earlier = done_before(c.state, key, c.seq)
    if earlier is not None:  # done on this pass already (a refresh, the same payload again)
        entry = ctx.ledger.entry(key)
        result = entry.result if entry is not None and entry.result else earlier["result"]
        by = earlier.get("decided_by")
        rec = c.record(action, status="executed", idempotency_key=key, result=result,
                       decided_by=by, done_before=True)  # fmt: skip
        return {"actions": [rec]}
    by, refused = _approval(c, action, key)
    if refused:
        return refused
    entry = ctx.ledger.entry(key)
    if entry is not None and entry.result is not None:  # done before (a re-run, a resume)
        rec = c.record(
            action, status="executed", idempotency_key=key, result=entry.result, decided_by=by
        )
        return {"actions": [rec]}
    if entry is not None:
        return _resolve_unknown(c, action, key, by)
    marks = strike_before_action(c)
    moved = _moved(c, action)
    if moved:
        return stale(c, action, moved) | {"faults": marks}
    ctx.ledger.begin(key, action.args(c.output))
    return _call(c, action, key, by, first=True) | {"faults": marks}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, []) + value if isinstance(value, list) else value
    return out


def make_act_node(chain: Chain, stage: Stage[Any, Any]) -> NodeFn:
    """The ``act`` node of ``stage`` (a stage with actions)."""

    def act(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        handoff = state["handoffs"][-1]
        edge = chain.edge(stage.name, handoff["target"])
        c = Commit(
            chain=chain,
            stage=stage,
            edge=edge,
            state=state,
            ctx=ctx,
            output=stage.produces.model_validate(handoff["payload"]),
            inp=input_of(chain, stage, state)[0],
            seq=handoff["seq"],
        )
        done = executed_on(state, stage.name, c.seq)
        todo = [a for a in stage.actions if a.name not in done]
        try:
            todo[0].args(c.output)
        except Exception as exc:  # the workflow's own code: name it, do not crash the node
            what = f"action '{todo[0].name}' of stage '{stage.name}'"
            return {"status": "failed", "reason": f"{what}: its args raised {_error(exc)}"}
        update = commit(c, todo[0])
        finished = [
            r for r in update.get("actions", []) if r["status"] in ("executed", "simulated")
        ]
        if finished and len(todo) == 1 and "status" not in update:
            update |= deliver(edge, handoff["payload"], c.seq)
        return update

    act.__name__ = f"act_{stage.name}"
    return act


def make_act_router(stage: Stage[Any, Any]) -> Callable[[RunState], str]:
    """The pure router after ``act <stage>``: next action, the next stage, a refresh, or out."""

    def route_act(state: RunState) -> str:
        if state.get("status") in TERMINAL:
            return "stop"
        handoff = state["handoffs"][-1]
        verdict = state["verdicts"][-1] if state.get("verdicts") else None
        if (
            verdict is not None
            and verdict["node"] == act_node(stage.name).model_dump()
            and verdict["handoff_seq"] == handoff["seq"]
            and verdict["decision"] == "revise"
        ):
            back = verdict["send_back_to"]
            return "revise" if back == stage.name else f"refresh {back}"
        if len(executed_on(state, stage.name, handoff["seq"])) < len(stage.actions):
            return "next"
        return handoff["target"]

    route_act.__name__ = f"route_act_{stage.name}"
    return route_act


def act_path_map(chain: Chain, stage: Stage[Any, Any]) -> dict[Hashable, str]:
    """Where the ``act`` node of ``stage`` leads, for ``add_conditional_edges``."""
    # next: the stage's next action, or the same one again after a call that raised (a new
    # run of the node asks a human what happened).
    path: dict[Hashable, str] = {"stop": END, "next": act_node(stage.name).name}
    for edge in chain.out_edges(stage.name):
        path[edge.target] = END if edge.target == END else edge.target
    path["revise"] = stage.name
    for target in refresh_targets(chain, stage.name):
        path[f"refresh {target}"] = target
    return path

"""Autonomy tiers at run time: resolve an action's tier, ask a human if needed, run it once.

LangGraph re-runs an interrupted node from its start on resume, so the only side effects in a
stage node are the actions run here, after any ``interrupt()``, under an idempotency key the
ledger remembers: a re-run node never repeats an action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from langgraph.types import interrupt

from graph.chain import Action, EnvelopeRule, Stage
from graph.context import RunContext, Source
from graph.hashing import payload_hash
from state.contracts import Contract, Fact
from state.decisions import ActionRecord, Decision, EscalationRequest, Tier

_RANK: dict[Tier, int] = {"auto": 0, "notify": 1, "approve": 2}


def resolve_tier(action: Action, output: Contract) -> tuple[Tier, EnvelopeRule | None]:
    """The action's declared tier, raised by the first envelope rule that holds and raises it."""
    assert action.tier is not None, "validate_chain rejects actions without a tier"
    tier: Tier = action.tier
    raised_by: EnvelopeRule | None = None
    for rule in action.envelope:
        if _RANK[rule.raise_to] > _RANK[tier] and rule.when(output):
            tier, raised_by = rule.raise_to, rule
    return tier, raised_by


def idempotency_key(run_id: str, stage: str, action: str, args: dict[str, Any]) -> str:
    """Same run, stage, action and arguments: same key, so the action runs once."""
    return f"{run_id}:{stage}:{action}:{payload_hash(args)[:16]}"


def _ask(request: EscalationRequest, ctx: RunContext) -> Decision:
    """Pause for a human (``interrupt``) and record the answer on the run's tape."""
    decision = Decision.model_validate(interrupt(request.model_dump(mode="json")))
    if ctx.tape is not None and request.scope:
        ctx.tape.human(request.scope, decision.model_dump(mode="json"))
    return decision


def _request(
    stage: Stage,
    action: Action,
    args: dict[str, Any],
    tier: Tier,
    rule: EnvelopeRule | None,
    ctx: RunContext,
    scope: str,
) -> EscalationRequest:
    """What a human sees for an approve-tier action, or a notify-tier action's veto window."""
    deadline = None
    if tier == "notify":
        deadline = ctx.clock() + timedelta(seconds=ctx.veto_window_s)
        what = (
            f"Action '{action.name}' of stage '{stage.name}' runs at {deadline:%H:%M:%S} UTC "
            f"unless vetoed (owner: {stage.owner})"
        )
    else:
        what = f"Approve action '{action.name}' of stage '{stage.name}' (owner: {stage.owner})"
    return EscalationRequest(
        kind="action",
        run_id=ctx.run_id,
        stage=stage.name,
        what=what,
        why=[rule.reason] if rule else [f"'{action.name}' is declared {tier}-tier"],
        proposed=args,
        envelope_rule=rule.name if rule else None,
        tier=tier,
        deadline=deadline,
        allowed=["approve", "reject"],
        scope=f"action|{scope}|{action.name}",
    )


RunEnd = tuple[Literal["rejected", "failed"], str]


def stale_facts(inp: Contract, sources: Mapping[str, Source]) -> list[str]:
    """The facts the stage consumed that moved since they were read (re-read now)."""
    moved = []
    for name in inp.fact_fields():
        fact = getattr(inp, name)
        if not isinstance(fact, Fact) or fact.source not in sources:
            continue
        now = sources[fact.source].read(fact.key)
        if now.version != fact.version:
            moved.append(
                f"{fact.source}/{fact.key} moved from v{fact.version} ({fact.value!r}) to "
                f"v{now.version} ({now.value!r})"
            )
    return moved


def run_actions(
    stage: Stage, inp: Contract, output: Contract, ctx: RunContext, scope: str = ""
) -> tuple[list[ActionRecord], RunEnd | None]:
    """Run the stage's actions under their tiers.

    Returns:
        The action records, and how the run ends when it must: ``rejected`` when a human
        rejected (or vetoed) an action, ``failed`` when a fact the stage consumed went stale
        while the action waited for a human (later actions do not run then).
    """
    records: list[ActionRecord] = []
    for action in stage.actions:
        tier, rule = resolve_tier(action, output)
        args = action.args(output)
        key = idempotency_key(ctx.run_id, stage.name, action.name, args)
        base: dict[str, Any] = {
            "stage": stage.name,
            "action": action.name,
            "tier": tier,
            "raised_by": rule.name if rule else None,
            "idempotency_key": key,
            "args": args,
            "at": ctx.clock(),
        }
        done = ctx.ledger.recorded(key)
        if done is not None:
            records.append(ActionRecord(status="executed", result=done, **base))
            continue
        decided_by = None
        if tier == "approve" or (tier == "notify" and ctx.veto_window_s > 0):
            # approve: the run waits for a human. notify: the run waits for the veto window;
            # the worker schedules its end, and a veto (reject) before it wins, because the
            # first decision on an escalation wins.
            decision = _ask(_request(stage, action, args, tier, rule, ctx, scope), ctx)
            decided_by = decision.user
            if decision.action != "approve":
                verb = "vetoed" if tier == "notify" else "rejected"
                records.append(ActionRecord(status=verb, decided_by=decided_by, **base))
                return records, (
                    "rejected",
                    f"action '{action.name}' {verb} by {decision.user}"
                    + (f": {decision.comment}" if decision.comment else ""),
                )
            # The human looked at the world as it was; it may have moved while they decided.
            # Re-read the facts before the irreversible part (fail closed on a change).
            moved = stale_facts(inp, ctx.sources_for(f"recheck|{scope}|{action.name}"))
            if moved:
                records.append(ActionRecord(status="skipped", decided_by=decided_by, **base))
                return records, (
                    "failed",
                    f"action '{action.name}' not taken: stale after approval: " + "; ".join(moved),
                )
        result = action.run(output, key, ctx.sources)
        ctx.ledger.record(key, result)
        records.append(
            ActionRecord(status="executed", result=result, decided_by=decided_by, **base)
        )
    return records, None

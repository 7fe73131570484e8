"""Actions at run time: tiers, idempotency keys, what a human is asked, facts read again.

Used by the ``act`` node (``graph.act``), the only place side effects happen. LangGraph re-runs
an interrupted node from its start on resume, so every question to a human here is asked in
the same order on every run of the node (``interrupt()`` then returns the stored answer), and
an action's ledger entry (intent, then result) tells a re-run what already happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from langgraph.types import interrupt

from graph.chain import Action, Stage
from graph.context import RunContext
from graph.envelope import EnvelopeRule
from state.contracts import Contract, Fact
from state.decisions import Decision, DecisionDeadline, EscalationRequest, Tier, resume_decision
from state.sources import Source
from state.stores.ledger import LedgerEntry

_RANK: dict[Tier, int] = {"auto": 0, "notify": 1, "approve": 2}


@dataclass(frozen=True)
class TierPolicy:
    """What the autonomy policy asks of one action on one proposal."""

    tier: Tier
    rule: EnvelopeRule[Any] | None
    """The envelope rule that governs (raised the tier, or asks for more approvals)."""
    approvals: int = 1
    group: str | None = None
    """The rule's approver group; ``None``: the stage's owner decides."""
    deadline: DecisionDeadline | None = None


def resolve_policy(
    action: Action[Any], output: Contract, limits: Mapping[str, float] | None = None
) -> TierPolicy:
    """The action's declared tier, raised by the strictest envelope rule that holds.

    Rules are compared by tier, then by the approvals they ask for; the first of equals wins.
    The governing rule's group and deadline apply (its deadline, else the action's own);
    ``limits``: the workflow's adopted limits by rule name.
    """
    assert action.tier is not None, "validate_chain rejects actions without a tier"
    tier: Tier = action.tier
    rule: EnvelopeRule[Any] | None = None
    approvals = 1
    for candidate in action.envelope:
        asks = candidate.approvals if candidate.raise_to == "approve" else 1
        stronger = (_RANK[candidate.raise_to], asks) > (_RANK[tier], approvals)
        if stronger and candidate.holds(output, limits):
            tier, rule, approvals = candidate.raise_to, candidate, asks
    deadline = rule.deadline if rule is not None and rule.deadline else action.deadline
    return TierPolicy(
        tier=tier,
        rule=rule,
        approvals=approvals,
        group=rule.group if rule is not None else None,
        deadline=deadline if tier == "approve" else None,
    )


def resolve_tier(
    action: Action[Any], output: Contract, limits: Mapping[str, float] | None = None
) -> tuple[Tier, EnvelopeRule[Any] | None]:
    """The action's tier on ``output`` and the envelope rule that governs it (see
    :func:`resolve_policy`)."""
    policy = resolve_policy(action, output, limits)
    return policy.tier, policy.rule


def needs_human(tier: Tier, ctx: RunContext) -> bool:
    """approve: a human decides; notify: a veto window (none when the window is 0 s)."""
    return tier == "approve" or (tier == "notify" and ctx.veto_window_s > 0)


def action_key(run_id: str, stage: str, action: str, visit: int = 1) -> str:
    """The action's identity in the run: its idempotency key.

    Not a hash of its arguments: a revised payload is the same action, so it can never be taken
    twice under two keys. ``visit`` counts the passes of a declared loop through the stage (it
    may act on each pass; see :func:`graph.commit.visit`), not its commits: a stage committed
    again after a refresh or a revision, or on the same payload, acts under the same key.
    """
    base = f"{run_id}:{stage}:{action}"
    return base if visit == 1 else f"{base}:{visit}"


def ask(request: EscalationRequest, ctx: RunContext) -> Decision:
    """Pause for a human (``interrupt``) and record the answer on the run's tape."""
    decision = resume_decision(interrupt(request.model_dump(mode="json")))
    if ctx.tape is not None and request.scope:
        ctx.tape.human(request.scope, decision.model_dump(mode="json"))
    return decision


def tier_request(
    stage: Stage[Any, Any],
    action: Action[Any],
    args: dict[str, object],
    policy: TierPolicy,
    ctx: RunContext,
    scope: str,
    authors: Sequence[str] = (),
) -> EscalationRequest:
    """What a human sees for an approve-tier action, or a notify-tier action's veto window
    (``authors``: the people whose edits the proposal carries)."""
    deadline = None
    labels: dict[str, str] = {}
    rule, tier = policy.rule, policy.tier
    group = policy.group or stage.owner
    if tier == "notify":
        deadline = ctx.clock() + timedelta(seconds=ctx.veto_window_s)
        what = (
            f"Action '{action.name}' of stage '{stage.name}' runs at {deadline:%H:%M:%S} UTC "
            f"unless vetoed (owner: {stage.owner})"
        )
        labels = {"approve": "let it run", "reject": "veto"}
    else:
        many = f" ({policy.approvals} approvals of {group})" if policy.approvals > 1 else ""
        what = f"Approve action '{action.name}' of stage '{stage.name}' (owner: {group}){many}"
    return EscalationRequest(
        kind="action",
        run_id=ctx.run_id,
        stage=stage.name,
        what=what,
        why=[rule.reason] if rule else [f"'{action.name}' is declared {tier}-tier"],
        proposed=dict(args),
        envelope_rule=rule.name if rule else None,
        tier=tier,
        deadline=deadline,
        allowed=["approve", "reject"],
        labels=labels,
        scope=f"action|{scope}|{action.name}",
        group=group,
        approvals=policy.approvals if tier == "approve" else 1,
        four_eyes=tier == "approve" and not action.self_approval,
        authors=list(authors),
        decision_deadline=policy.deadline,
    )


def unknown_request(
    stage: Stage[Any, Any],
    action: Action[Any],
    key: str,
    entry: LedgerEntry,
    ctx: RunContext,
    scope: str,
) -> EscalationRequest:
    """What a human is asked when an action was called and never reported back."""
    happened = (
        f"the call raised {entry.error}"
        if entry.error
        else "the worker stopped during the call (no result was recorded)"
    )
    return EscalationRequest(
        kind="action",
        run_id=ctx.run_id,
        stage=stage.name,
        what=(
            f"Outcome unknown: action '{action.name}' of stage '{stage.name}' was called and "
            f"did not report back (owner: {stage.owner}). Check the target system for "
            f"idempotency key {key}: confirm it was done, retry it, or abort."
        ),
        why=[happened, f"'{action.name}' is not declared safe to retry with the same key"]
        if not action.retry_safe
        else [happened],
        proposed=dict(entry.args),
        tier="approve",
        allowed=["approve", "retry", "reject"],
        labels={"approve": "confirm done", "retry": "retry", "reject": "abort"},
        scope=f"unknown|{scope}|{action.name}",
        group=stage.owner,
    )


def moved_facts(
    contracts: list[Contract], sources: Mapping[str, Source]
) -> list[tuple[Fact, Fact]]:
    """``(as read, as it is now)`` for every fact in ``contracts`` that moved (another version,
    or another value: see ``Fact.moved``).

    A fact whose source is not available to this run cannot be re-read: it counts as moved
    (fail closed).
    """
    moved: list[tuple[Fact, Fact]] = []
    seen: set[str] = set()
    for contract in contracts:
        for _, fact in contract.facts():
            if fact.ref in seen:
                continue
            seen.add(fact.ref)
            if fact.source not in sources:
                gone = fact.model_copy(update={"version": -1, "value": "(source unavailable)"})
                moved.append((fact, gone))
                continue
            current = sources[fact.source].read(fact.key)
            if fact.moved(current):
                moved.append((fact, current))
    return moved

"""Workflow knowledge: what the escalation history says about each envelope limit, proved by
replay, and adopted only by an admin.

For every limit rule of a workflow (``graph.envelope.above``: "the order total is above
5,000"), the decided escalations it raised are read back with the value that raised them. When
humans approved nearly all of those up to some value, the insight proposes moving the limit
there — "approvers approved 48 of 50 `amount_over_limit` escalations between 5,000 and 8,000:
raise the limit to 8,000?" — with the numbers. The proof replays each of those runs from its
tape with the proposed limit (no model call, nothing acts) and shows what would have changed:
above all, the runs a human had stopped. Adopting is an admin's decision, audited; nothing here
changes a limit by itself.
"""

from __future__ import annotations

from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field

from graph.chain import Chain
from graph.envelope import EnvelopeRule
from graph.runtime.principal import Forbidden, Principal
from graph.runtime.registry import Registry
from graph.runtime.replay import replay_run
from state.control.limits import Limits
from state.control.models import Escalation
from state.control.plane import ControlPlane
from state.errors import WaybillError
from state.run_events import HandoffProposed, node_updates


class Evidence(BaseModel):
    """One decided escalation a limit rule raised: the value, and what the human decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    value: float
    approved: bool
    user: str


class Suggestion(BaseModel):
    """A limit the history says could move, with the numbers behind it."""

    model_config = ConfigDict(extra="forbid")

    workflow: str
    rule: str
    field: str
    current: float
    proposed: float
    asked: int
    approved: int
    low: float
    runs: list[str] = Field(description="The runs whose escalation the new limit would skip.")

    @property
    def text(self) -> str:
        """The suggestion in one sentence."""
        return (
            f"approvers approved {self.approved} of {self.asked} `{self.rule}` escalations with "
            f"{self.field} between {self.low:,.2f} and {self.proposed:,.2f}: raise the limit "
            f"from {self.current:,.2f} to {self.proposed:,.2f}?"
        )


class Proof(BaseModel):
    """What one run would have done under the proposed limit (replayed from its tape)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    decided: str = Field(description="What the human decided then, e.g. 'reject by finn'.")
    recorded: str
    replayed: str
    differences: list[str]
    assumed: int = Field(
        default=0, description="Facts the replay assumed (reads where the run never went)."
    )


def limit_rules(chain: Chain) -> list[tuple[str, EnvelopeRule[Any]]]:
    """``(action name, rule)`` for every limit rule of the chain's actions."""
    return [
        (action.name, rule)
        for stage in chain.stages
        for action in stage.actions
        for rule in action.envelope
        if rule.limit is not None
    ]


def suggest(
    workflow: str,
    rule: EnvelopeRule[Any],
    evidence: list[Evidence],
    current: float,
    *,
    min_decisions: int = 10,
    min_rate: float = 0.9,
) -> Suggestion | None:
    """The highest limit up to which at least ``min_decisions`` escalations were decided and at
    least ``min_rate`` of them approved; None when the history does not support a raise."""
    ranked = sorted((e for e in evidence if e.value > current), key=lambda e: e.value)
    best: Suggestion | None = None
    for n in range(min_decisions, len(ranked) + 1):
        upto = ranked[:n]
        if n < len(ranked) and ranked[n].value == upto[-1].value:
            continue  # a limit cannot split equal values
        approved = sum(e.approved for e in upto)
        if approved / n >= min_rate:
            best = Suggestion(
                workflow=workflow,
                rule=rule.name,
                field=rule.field,
                current=current,
                proposed=upto[-1].value,
                asked=n,
                approved=approved,
                low=upto[0].value,
                runs=[e.run_id for e in upto],
            )
    return best


def _value(cp: ControlPlane, esc: Escalation, field: str) -> float | None:
    """The value the rule compared: in the action's arguments, else in the stage's handoff."""
    proposed = esc.request.get("proposed") or {}
    if isinstance(proposed.get(field), int | float):
        return float(proposed[field])
    updates = node_updates(cp.events.read(esc.run_id, count=2000))
    handoffs = [h for u in updates for h in u.of_kind(HandoffProposed) if h.stage == esc.stage]
    value = handoffs[-1].payload.get(field) if handoffs else None
    return float(value) if isinstance(value, int | float) else None


def evidence(cp: ControlPlane, chain: Chain, *, scan: int = 500) -> dict[str, list[Evidence]]:
    """Per limit rule, the decided escalations it raised among the workflow's newest runs."""
    rules = {rule.name: rule for _, rule in limit_rules(chain)}
    found: dict[str, list[Evidence]] = {name: [] for name in rules}
    if not rules:
        return found
    for run in cp.runs.list(workflow=chain.name, limit=scan).items:
        for esc in cp.escalations.for_run(run.run_id):
            rule = rules.get(str(esc.request.get("envelope_rule") or ""))
            if rule is None or esc.decision is None or esc.decision.action == "retry":
                continue
            value = _value(cp, esc, rule.field)
            if value is not None:
                approved = esc.decision.action == "approve"
                found[rule.name].append(
                    Evidence(
                        run_id=run.run_id, value=value, approved=approved, user=esc.decision.user
                    )
                )
    return found


def suggestions(
    cp: ControlPlane, chain: Chain, *, min_decisions: int = 10, min_rate: float = 0.9
) -> list[Suggestion]:
    """Every limit of ``chain`` the history says could move (see :func:`suggest`)."""
    adopted = Limits(cp.client).of(chain.name)
    rules = {rule.name: rule for _, rule in limit_rules(chain)}
    out = []
    for name, found in evidence(cp, chain).items():
        rule = rules[name]
        current = adopted.get(name, rule.limit if rule.limit is not None else 0.0)
        made = suggest(
            chain.name, rule, found, current, min_decisions=min_decisions, min_rate=min_rate
        )
        if made is not None:
            out.append(made)
    return out


def prove(
    cp: ControlPlane, raw: redis.Redis, registry: Registry, suggestion: Suggestion
) -> list[Proof]:
    """Replay each run the suggestion covers with the proposed limit; what would have changed."""
    limits = Limits(cp.client).of(suggestion.workflow) | {suggestion.rule: suggestion.proposed}
    proofs = []
    for run_id in suggestion.runs:
        decided = [
            f"{e.decision.action} by {e.decision.user}"
            for e in cp.escalations.for_run(run_id)
            if e.decision is not None and e.request.get("envelope_rule") == suggestion.rule
        ]
        try:
            report = replay_run(cp, raw, registry, run_id, limits=limits, what_if=True)
        except WaybillError as exc:
            proofs.append(Proof(run_id=run_id, decided=", ".join(decided), recorded="?",
                                replayed="cannot replay", differences=[str(exc)]))  # fmt: skip
            continue
        proofs.append(
            Proof(
                run_id=run_id,
                decided=", ".join(decided),
                recorded=report.recorded_status,
                replayed=report.replayed_status,
                differences=report.divergences,
                assumed=report.assumed,
            )
        )
    return proofs


def adopt(cp: ControlPlane, suggestion: Suggestion, who: Principal) -> None:
    """Move the limit as suggested, for runs from now on (admins only; audited either way).

    Raises:
        Forbidden: ``who`` is not an admin.
    """
    target = f"{suggestion.workflow}:{suggestion.rule}"
    if not who.can("admin"):
        cp.audit.append(who.name, "denied", target, {"attempted": "adopt a limit"})
        raise Forbidden(f"{who.name} ({who.role}) may not adopt a limit: it needs the admin role")
    Limits(cp.client).set(suggestion.workflow, suggestion.rule, suggestion.proposed)
    cp.audit.append(
        who.name,
        "limit.adopt",
        target,
        {
            "from": suggestion.current,
            "to": suggestion.proposed,
            "evidence": f"{suggestion.approved} of {suggestion.asked} approved",
            "runs": suggestion.runs,
        },
    )

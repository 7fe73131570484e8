"""One commit of the act node: what it records (action records, verdicts) and how it refuses
to act on a fact that moved since it was read (the work goes back to the stage that read it).
See ``graph.act`` for the whole commit step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.actions import ask, resolve_tier
from graph.chain import Action, Chain, Edge, FaultContext, Stage
from graph.context import RunContext
from graph.lineage import ancestry, reader_of, refresh_targets
from state.contracts import Contract, Fact
from state.decisions import ActionRecord, EscalationRequest
from state.mast import MastCode
from state.nodes import NodeRef, act_node
from state.run_state import FaultMark, RunState
from state.verdicts import CheckResult, GateDecision, GateVerdict


@dataclass
class Commit:
    """The act node's view of one passed proposal: what it acts on and how it records it."""

    chain: Chain
    stage: Stage[Any, Any]
    edge: Edge
    state: RunState
    ctx: RunContext
    output: Contract
    inp: Contract
    seq: int

    @property
    def node(self) -> NodeRef:
        """The act node this commit runs in."""
        return act_node(self.stage.name)

    def record(self, action: Action[Any], **fields: Any) -> dict[str, Any]:
        """An ``ActionRecord`` of ``action`` on this proposal, as stored in the run state.

        ``fields`` are the record's outcome (``status``, ``result``, ``error``...); the tier
        is resolved here, from the action and the proposal.
        """
        tier, rule = resolve_tier(action, self.output, self.ctx.limits)
        record = ActionRecord(
            stage=self.stage.name,
            action=action.name,
            tier=tier,
            raised_by=rule.name if rule else None,
            args=action.args(self.output),
            handoff_seq=self.seq,
            at=self.ctx.clock(),
            **fields,
        )
        return record.model_dump(mode="json")

    def verdict(
        self, decision: GateDecision, checks: list[CheckResult], back_to: str | None = None
    ) -> dict[str, Any]:
        """A ``GateVerdict`` from the act node, as stored in the run state.

        The act node judges the proposal again when a fact moved since the gate or an action's
        outcome is unknown; ``back_to`` is the stage a ``revise`` sends the work back to.
        """
        mast: list[MastCode] = sorted({m for c in checks for m in c.mast})
        verdict = GateVerdict(
            node=self.node,
            source=self.stage.name,
            target=self.edge.target,
            handoff_seq=self.seq,
            decision=decision,
            checks=checks,
            mast=mast,
            reasons=[f"[{c.check}] {c.detail}" for c in checks],
            score=0.0,
            at=self.ctx.clock(),
            send_back_to=back_to,
        )
        return verdict.model_dump(mode="json")


def executed_on(state: RunState, stage: str, seq: int) -> set[str]:
    """Actions of ``stage`` already done on handoff ``seq``."""
    return {
        a["action"]
        for a in state.get("actions", [])
        if a["stage"] == stage
        and a.get("handoff_seq") == seq
        and a["status"] in ("executed", "simulated")
    }


def human_authors(state: RunState) -> list[str]:
    """The people who wrote a handoff of the run (an edit at an escalation, a fork's edit):
    what the run acts on may carry their edits, so under four eyes they do not approve it."""
    found = {
        h["by"].removeprefix("human:").removesuffix(" (fork)")
        for h in state.get("handoffs", [])
        if h["by"].startswith("human:")
    }
    return sorted(found)


def visit(state: RunState, stage: str, action: str, seq: int) -> int:
    """Which pass of ``stage`` handoff ``seq`` is, for ``action`` (the ``visit`` of
    :func:`graph.actions.action_key`): 1, plus one per pass of a declared loop it was already
    executed on.

    A handoff is a new pass when it descends from one the action was executed on in the latest
    pass (the work went round a loop of the chain back to the stage). The same payload as an
    earlier commit (its ``decision_hash``), and a stage committed again on the same input (a
    revision, or a refresh: the work sent back to the stage that read a fact that moved), are
    the same pass: the same key, so what was done is not done again.
    """
    done = {
        a.get("handoff_seq", 0)
        for a in state.get("actions", [])
        if a["stage"] == stage and a["action"] == action and a["status"] == "executed"
    }
    hashes = {h["seq"]: h.get("hash", "") for h in state.get("handoffs", [])}
    passes: dict[int, int] = {}
    for current in [*sorted(done - {seq}), seq]:
        passes[current] = _pass_of(state, hashes, passes, current)
    return passes[seq]


def _pass_of(state: RunState, hashes: dict[int, str], passes: dict[int, int], seq: int) -> int:
    """The pass of handoff ``seq``, given the passes of the earlier ones (see :func:`visit`)."""
    if not passes:
        return 1
    digest = hashes.get(seq, "")
    same = [n for s, n in passes.items() if digest and hashes.get(s) == digest]
    if same:
        return same[0]
    latest = max(passes.values())
    looped = ancestry(state, seq) & {s for s, n in passes.items() if n == latest}
    return latest + 1 if looped else latest


def done_before(state: RunState, key: str, seq: int) -> dict[str, Any] | None:
    """The record of an action executed under ``key`` on another handoff (the same pass)."""
    for a in state.get("actions", []):
        same = a.get("idempotency_key") == key and a.get("handoff_seq") != seq
        if same and a["status"] == "executed":
            return a
    return None


def strike_before_action(c: Commit) -> list[FaultMark]:
    """Apply a ``before_action`` fault of the run, once: the world moves after the gate."""
    name = c.ctx.inject
    if not name:
        return []
    fault = c.chain.fault(name)
    struck = any(m["fault"] == name for m in c.state.get("faults", [])) or name in c.ctx.struck
    if fault.stage != c.stage.name or fault.when != "before_action" or struck:
        return []
    c.ctx.struck.add(name)
    payload = c.output.model_dump(mode="json")
    fault.apply(payload, FaultContext(c.ctx.run_id, c.ctx.sources))
    return [{"fault": name, "handoff_seq": c.seq}]


def stale(c: Commit, action: Action[Any], moved: list[tuple[Fact, Fact]]) -> dict[str, Any]:
    """No action on a moved fact: send the work back to the stage that read it, or ask."""
    checks = [
        CheckResult(
            check="freshness",
            name=f"freshness:{old.ref}",
            ok=False,
            mast=["FM-3.2"],
            detail=f"{old.ref} moved since it was read (v{old.version}, {old.value!r}) and "
            f"before '{action.name}' could run (now v{new.version}, {new.value!r})",
            send_back_to=reader_of(c.state, old),
        )
        for old, new in moved
    ]
    readers = {chk.send_back_to for chk in checks}
    back = readers.pop() if len(readers) == 1 else None
    allowed = [*refresh_targets(c.chain, c.stage.name), c.stage.name]
    back = back if back in allowed else c.stage.name
    update: dict[str, Any] = {"actions": [c.record(action, status="skipped", idempotency_key="")]}
    used = int(c.state.get("revisions", {}).get(c.edge.id, 0))
    if used >= c.chain.budgets.max_revisions_per_edge:
        decision = ask(_stale_request(c, action, checks), c.ctx)
        if decision.action != "retry":
            reason = f"action '{action.name}' not taken (facts moved); aborted by {decision.user}"
            return update | {"status": "rejected", "reason": reason}
    reasons = [f"[freshness] {chk.detail}" for chk in checks]
    return update | {
        "verdicts": [c.verdict("revise", checks, back)],
        "feedback": {back: reasons},
        "revisions": {c.edge.id: 1},
    }


def _stale_request(c: Commit, action: Action[Any], checks: list[CheckResult]) -> EscalationRequest:
    return EscalationRequest(
        kind="action",
        run_id=c.ctx.run_id,
        stage=c.stage.name,
        what=f"Facts keep moving under action '{action.name}' of stage '{c.stage.name}' "
        f"(owner: {c.stage.owner}): the revision budget of {c.edge.id} is spent",
        why=[chk.detail for chk in checks],
        proposed=action.args(c.output),
        tier="approve",
        allowed=["retry", "reject"],
        labels={"retry": "read again", "reject": "abort"},
        scope=f"stale|{c.seq}|{action.name}|{c.state.get('revisions', {}).get(c.edge.id, 0)}",
        group=c.stage.owner,
    )

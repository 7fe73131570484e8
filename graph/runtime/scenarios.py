"""The fault-injection scenario suite: every workflow run clean and with each of its faults.

Each run goes through :func:`graph.runtime.runner.run_chain` in this process (in-memory
checkpoints, the chain's own fresh sources). A decider stands in for the humans: it approves
what the autonomy policy escalates (an action's tier; "confirm done" for an action whose
outcome is unknown), and rejects what a gate escalates, so a caught fault ends its run where it
was caught.

A fault counts as caught only if it was caught *before harm*: the first node that did not pass
is the fault's ``expect`` node with ``expect_mast``, and the world shows no harm — every side
effect the target systems report (each action's ``effects``) matches, once, an action the run
committed, and no committed action ran on a handoff the fault touched (or derived from one). A
clean scenario is ``ok`` when every gate passed, the run succeeded and the world shows no harm
(policy escalations are expected there).

Agents use whatever brain is configured (``WAYBILL_MODEL``): the same suite measures LLM brains.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from graph.chain import Chain, Effect, FailureMode, Fault
from graph.context import RunContext
from graph.lineage import ancestry
from graph.runtime.registry import Registry
from graph.runtime.runner import Decider, run_chain
from state.contracts import same_value
from state.decisions import Decision, EscalationRequest
from state.mast import MastCode
from state.nodes import act_node, stage_node
from state.run_state import RunState, actions_of, verdicts_of
from state.sources import Source
from state.verdicts import GateDecision

SUITE_USER = "scenario-suite"
"""Who the suite's decider records as the deciding human."""


@dataclass(frozen=True)
class Scenario:
    """One run to make: a workflow on one example, clean or with one fault."""

    workflow: str
    example: str
    fault: Fault | None = None

    @property
    def name(self) -> str:
        """The fault's name, or ``clean: <example>`` for a run without one."""
        return self.fault.name if self.fault else f"clean: {self.example}"


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario showed, and whether that is what was expected."""

    workflow: str
    scenario: str
    example: str
    fault: str | None
    mode: FailureMode | None
    introduced_at: str | None
    """``stage #seq``: the stage the fault was injected into and its first handoff."""
    expected_gate: str | None
    expected_mast: MastCode | None
    caught_at: str | None
    """``gate #seq``: the first gate that did not pass, and the handoff it judged."""
    verdict: GateDecision | None
    """That gate's decision (None when every gate passed)."""
    mast: tuple[MastCode, ...]
    status: str
    """How the run ended (``succeeded``, ``rejected``, ``failed``, ... or ``error``)."""
    policy: tuple[str, ...] = ()
    """Actions the autonomy policy did not leave on ``auto``: ``action: tier (rule)``."""
    ok: bool = False
    problem: str = ""
    harm: tuple[str, ...] = ()
    """What the world shows went wrong (an effect on faulty data, twice, or uncommitted)."""

    @property
    def result(self) -> str:
        """``ok``, ``MISSED`` (no gate caught the fault where expected), ``HARM`` (caught, but
        a side effect ran on bad data first) or ``FALSE ALARM`` (a clean run stopped)."""
        if self.ok:
            return "ok"
        if self.fault:
            return "MISSED" if self.problem else "HARM"
        return "HARM" if self.harm and not self.problem else "FALSE ALARM"

    @property
    def why(self) -> str:
        """What went wrong, in one line (detection first, then harm)."""
        return "; ".join([p for p in (self.problem,) if p] + list(self.harm))


def suite_decider(req: EscalationRequest) -> Decision:
    """Approve what the autonomy policy escalates (and confirm an action the suite's worker
    death interrupted: the target system shows it done); reject what a gate escalates."""
    if req.kind == "action" and "approve" in req.allowed:
        return Decision(action="approve", user=SUITE_USER, comment="policy escalation")
    return Decision(action="reject", user=SUITE_USER, comment="a gate escalated")


def plan(chain: Chain) -> list[Scenario]:
    """Clean runs on every example, then each fault on the first example."""
    examples = list(chain.examples)
    scenarios = [Scenario(chain.name, ex) for ex in examples]
    if examples:
        scenarios += [Scenario(chain.name, examples[0], f) for f in chain.faults]
    return scenarios


def load_example(path: Path) -> dict[str, Any]:
    """An example input file."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def harm_done(state: RunState, effects: list[Effect]) -> list[str]:
    """What the world shows went wrong, judged from the target systems' own records.

    ``effects`` is every side effect the target systems report (idempotency key, what was
    done). Harm: an effect no committed action accounts for, the same key done twice, an effect
    that differs from what was committed, or an action committed on a handoff a fault touched.
    """
    done = [a for a in actions_of(state) if a.status == "executed"]
    committed = {a.idempotency_key: a for a in done}
    problems = [
        f"{key} was done {n} times" for key, n in Counter(k for k, _ in effects).items() if n > 1
    ]
    for key, what in effects:
        record = committed.get(key)
        if record is None:
            problems.append(f"done with no committed action: {key} {what}")
        elif not same_value(record.args, what):
            problems.append(f"{key}: done {what}, committed {record.args}")
    touched = {m["handoff_seq"] for m in state.get("faults", [])}
    for record in done:
        on_bad = touched & ancestry(state, record.handoff_seq)
        if on_bad:
            problems.append(
                f"'{record.action}' ran on handoff #{record.handoff_seq}, derived from the "
                f"faulty handoff #{min(on_bad)}"
            )
    return problems


def _introduced(fault: Fault, state: RunState) -> str:
    marks = [m for m in state.get("faults", []) if m["fault"] == fault.name]
    node = stage_node(fault.stage) if fault.when == "output" else act_node(fault.stage)
    if marks:
        return f"{node} #{marks[0]['handoff_seq']}"
    return f"{node}" if fault.when != "output" else f"{node} (never ran)"


def assess(
    scenario: Scenario, state: RunState, status: str, effects: list[Effect] | None = None
) -> ScenarioResult:
    """Judge a finished run of ``scenario`` from its state and the world's effects (pure)."""
    verdicts = verdicts_of(state)
    first = next((v for v in verdicts if v.decision != "pass"), None)
    fault = scenario.fault
    introduced = _introduced(fault, state) if fault is not None else None
    harm = harm_done(state, effects or [])
    problem = ""
    if fault is not None:
        if first is None:
            problem = "no gate caught it"
        elif first.node != fault.expect:
            problem = f"first caught at {first.node}, expected {fault.expect}"
        elif fault.expect_mast not in first.mast:
            problem = (
                f"caught without {fault.expect_mast} (codes: {', '.join(first.mast) or 'none'})"
            )
    elif first is not None:
        problem = f"{first.node} said {first.decision}: {'; '.join(first.reasons)}"
    elif status != "succeeded":
        problem = f"the run ended {status}: {state.get('reason', '')}"
    return ScenarioResult(
        workflow=scenario.workflow,
        scenario=scenario.name,
        example=scenario.example,
        fault=fault.name if fault else None,
        mode=fault.mode if fault else None,
        introduced_at=introduced,
        expected_gate=fault.expect.name if fault else None,
        expected_mast=fault.expect_mast if fault else None,
        caught_at=f"{first.node} #{first.handoff_seq}" if first else None,
        verdict=first.decision if first else None,
        mast=tuple(first.mast) if first else (),
        status=status,
        policy=tuple(
            f"{a.action}: {a.tier}" + (f" ({a.raised_by})" if a.raised_by else "")
            for a in actions_of(state)
            if a.tier != "auto"
        ),
        ok=not problem and not harm,
        problem=problem,
        harm=tuple(harm),
    )


def world_effects(chain: Chain, sources: Mapping[str, Source]) -> list[Effect]:
    """Every side effect the run's target systems report (each action's ``effects`` probe)."""
    found: list[Effect] = []
    for stage in chain.stages:
        for action in stage.actions:
            if action.effects is not None:
                found += action.effects(sources)
    return found


def run_scenario(chain: Chain, scenario: Scenario, decide: Decider | None = None) -> ScenarioResult:
    """Run ``scenario`` in process; a run that raises is a failed scenario, never a pass."""
    request = load_example(chain.examples[scenario.example])
    inject = scenario.fault.name if scenario.fault else None
    run_id = uuid.uuid4().hex[:12]
    ctx = RunContext(run_id=run_id, inject=inject, sources=chain.sources())
    try:
        out = run_chain(
            chain, request, inject=inject, decide=decide or suite_decider, ctx=ctx, run_id=run_id
        )
    except Exception as exc:  # fail closed: the suite reports it and goes on
        failed = assess(scenario, _empty_state(), "error")
        detail = f"the run raised {type(exc).__name__}: {exc}"
        return replace(failed, ok=False, problem=detail)
    return assess(scenario, out.state, out.status, world_effects(chain, ctx.sources))


def _empty_state() -> RunState:
    return cast(
        RunState, {"verdicts": [], "handoffs": [], "actions": [], "faults": [], "reason": ""}
    )


Progress = Callable[[int, int, ScenarioResult], None]


def run_suite(
    registry: Registry, workflow: str | None = None, on_result: Progress | None = None
) -> list[ScenarioResult]:
    """Run every scenario of ``workflow`` (or of every registered workflow), in order.

    Raises:
        UnknownWorkflowError: ``workflow`` is not registered.
    """
    names = [workflow] if workflow else registry.names()
    chains = [registry.fresh(name) for name in names]
    todo = [(chain, s) for chain in chains for s in plan(chain)]
    results: list[ScenarioResult] = []
    for i, (chain, scenario) in enumerate(todo, start=1):
        result = run_scenario(chain, scenario)
        results.append(result)
        if on_result is not None:
            on_result(i, len(todo), result)
    return results


@dataclass(frozen=True)
class Summary:
    """The suite's totals."""

    faults: int
    caught: int
    clean: int
    false_alarms: int
    modes: tuple[str, ...]
    codes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every fault was caught and no clean run raised an alarm."""
        return self.caught == self.faults and self.false_alarms == 0


def summarise(results: list[ScenarioResult]) -> Summary:
    """Totals over ``results``; modes and codes count only faults caught as expected."""
    faulted = [r for r in results if r.fault]
    clean = [r for r in results if not r.fault]
    caught = [r for r in faulted if r.ok]
    return Summary(
        faults=len(faulted),
        caught=len(caught),
        clean=len(clean),
        false_alarms=sum(not r.ok for r in clean),
        modes=tuple(sorted({r.mode for r in caught if r.mode})),
        codes=tuple(sorted({r.expected_mast for r in caught if r.expected_mast})),
    )

"""The gate's checks, in order: agent, contract, fidelity, freshness, budget, loop, domain.

Each check returns ``CheckResult``s; none of them raises: :func:`run_checks` turns an exception
in a check into a failed check (fail closed), never a pass, and each domain invariant runs on
its own, so one that raises does not hide the others' verdicts.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import TypeAdapter, ValidationError

from graph import budget
from graph.chain import Chain, Edge, InvariantContext, Recorder, live
from graph.context import RunContext
from graph.hashing import fact_versions
from graph.lineage import input_of, reader_of
from state.contracts import Contract, same_value
from state.mast import MastCode
from state.run_state import Handoff, RunState
from state.sources import Source
from state.verdicts import CheckName, CheckResult, OnFail


@dataclass(frozen=True)
class GateInput:
    """What a gate looks at: the handoff on its edge, the run so far, and the run context."""

    chain: Chain
    edge: Edge
    handoff: Handoff
    state: RunState
    ctx: RunContext
    sources: Mapping[str, Source]
    """The sources as this gate reads them (through the run's tape, if any)."""
    now: datetime
    """The time the gate judges TTLs by (recorded on the tape: a replay judges the same)."""
    spend: dict[str, float] = dataclasses.field(default_factory=dict)
    """What the gate's invariants spent on model calls (an LLM judge's tokens and cost)."""
    record: Recorder = live
    """Where the invariants' model calls are recorded (the run's tape, at this gate)."""

    @property
    def contract(self) -> type[Contract]:
        """The contract the producing stage declared: what the payload must validate as."""
        return self.chain.stage(self.edge.source).produces

    @cached_property
    def output(self) -> Contract:
        """The payload as its contract (only after the contract check passed)."""
        return self.contract.model_validate(self.handoff["payload"])

    @cached_property
    def upstream(self) -> Contract:
        """What the producing stage consumed, as a contract (the run request for the entry)."""
        return input_of(self.chain, self.chain.stage(self.edge.source), self.state)[0]


def check_agent(g: GateInput) -> list[CheckResult]:
    """The agent produced something: it did not raise, return the wrong type or mis-route."""
    error = g.handoff.get("error", "")
    if error:
        return [_fail("agent", f"agent:{g.edge.source}", ["FM-1.1"], error)]
    return [CheckResult(check="agent", name=f"agent:{g.edge.source}", ok=True)]


def check_contract(g: GateInput) -> list[CheckResult]:
    """The payload validates against the edge's contract (no missing, extra or bad fields)."""
    try:
        g.contract.model_validate(g.handoff["payload"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        return [_fail("contract", g.contract.__name__, ["FM-1.1"], problems)]
    return [CheckResult(check="contract", name=g.contract.__name__, ok=True)]


@functools.cache
def _field_type(contract: type[Contract], field: str) -> TypeAdapter[Any]:
    annotation: Any = contract.model_fields[field].annotation
    return TypeAdapter(annotation)


def check_fidelity(g: GateInput) -> list[CheckResult]:
    """Every ``Carried`` field is there and equals, as a value, what the producer received.

    Field by field, so a dropped or bent field is named even when the payload as a whole does
    not fit its contract.
    """
    results: list[CheckResult] = []
    upstream = g.upstream
    payload = g.handoff["payload"]
    for field in g.contract.carried_fields():
        name = f"fidelity:{field}"
        if field not in payload:
            detail = f"carried field '{field}' dropped"
            results.append(_fail("fidelity", name, ["FM-1.4", "FM-2.4"], detail))
            continue
        try:
            actual = _field_type(g.contract, field).validate_python(payload[field])
        except ValidationError:
            continue  # not even of its type: the contract check names it
        # validate_chain guarantees the producer's input contract has this field.
        expected = getattr(upstream, field)
        if same_value(expected, actual):
            results.append(CheckResult(check="fidelity", name=name, ok=True))
            continue
        results.append(
            _fail(
                "fidelity",
                name,
                ["FM-1.4"],
                f"carried field '{field}' changed: {_show(expected)} became {_show(actual)}",
            )
        )
    return results


def _show(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    text = repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def check_freshness(g: GateInput) -> list[CheckResult]:
    """Every fact in the payload, wherever it sits, is re-read: same version and same value
    (a value edited under its version is caught), TTL not expired.

    A fact that moved is sent back to the stage that read it (which may be upstream of the
    producer, when the producer only passed it on).
    """
    results: list[CheckResult] = []
    for path, fact in g.output.facts():
        name = f"freshness:{path}"
        source = g.sources.get(fact.source)
        if source is None:
            detail = f"source of truth '{fact.source}' is not available to re-read {fact.key}"
            results.append(_fail("freshness", name, ["FM-3.2"], detail, "escalate"))
            continue
        current = source.read(fact.key)
        if current.version != fact.version:
            detail = (
                f"{fact.ref} is stale: read at version {fact.version} (value {fact.value!r}), "
                f"now version {current.version} (value {current.value!r})"
            )
        elif fact.moved(current):
            detail = (
                f"{fact.ref} is not what its source says: the payload has {fact.value!r} at "
                f"version {fact.version}, the source {current.value!r}"
            )
        elif fact.expired(g.now):
            detail = (
                f"{fact.ref} read at {fact.as_of.isoformat()} is older than its TTL of "
                f"{fact.ttl_s}s"
            )
        else:
            results.append(CheckResult(check="freshness", name=name, ok=True))
            continue
        result = _fail("freshness", name, ["FM-3.2"], detail)
        reader = reader_of(g.state, fact)
        results.append(result.model_copy(update={"send_back_to": reader}))
    return results


def check_budgets(g: GateInput) -> list[CheckResult]:
    """Steps, wall time, tokens, cost and passes over this edge stay within budget."""
    results = []
    for limit in budget.limits(g.chain.budgets, g.state):
        if limit.ok:
            results.append(CheckResult(check="budget", name=limit.name, ok=True))
        else:
            detail = f"{limit.name} exhausted: {limit.spent} spent of {limit.limit}"
            results.append(_fail("budget", limit.name, ["FM-1.5"], detail, "block"))
    if g.edge.max_traversals is not None:
        passes = int(g.state.get("traversals", {}).get(g.edge.id, 0))
        name = "budget:traversals"
        if passes < g.edge.max_traversals:
            results.append(CheckResult(check="budget", name=name, ok=True))
        else:
            detail = (
                f"{name} exhausted: {passes} passes over {g.edge.id} of {g.edge.max_traversals}"
            )
            results.append(_fail("budget", name, ["FM-1.5"], detail, "escalate"))
    return results


def _facts_given(state: RunState, handoff: Handoff) -> frozenset[tuple[str, str, int]]:
    """The fact versions in what the stage was given when it made ``handoff``."""
    if handoff["input_seq"] == 0:
        return fact_versions(state.get("request", {}))
    given = next((h for h in state.get("handoffs", []) if h["seq"] == handoff["input_seq"]), None)
    return fact_versions(given["payload"]) if given else frozenset()


def check_loop(g: GateInput) -> list[CheckResult]:
    """The same stage handing off the same decision again is a loop nobody owns.

    Handoffs are compared by what the agent decided (``decision_hash``), so re-reading the
    same version of a fact later does not hide a repeat; a stage that hands off the same thing
    on newer facts (after a stale fact was read again) is not repeating itself.
    """
    h = g.handoff
    given = _facts_given(g.state, h)
    for earlier in g.state.get("handoffs", [])[:-1]:
        if (
            earlier["stage"] == h["stage"]
            and earlier["hash"] == h["hash"]
            and _facts_given(g.state, earlier) == given
        ):
            detail = (
                f"'{h['stage']}' handed off the same payload again (first at handoff "
                f"#{earlier['seq']}, again at #{h['seq']}): the work is going round"
            )
            return [_fail("loop", "loop:repeat", ["FM-1.3"], detail, "escalate")]
    return [CheckResult(check="loop", name="loop:repeat", ok=True)]


def check_domain(g: GateInput) -> list[CheckResult]:
    """The workflow's own invariants for this edge, each on its own (fail closed per rule)."""
    if not g.edge.invariants:
        return []
    ictx = InvariantContext(
        request=g.state.get("request", {}),
        upstream=g.upstream.model_dump(mode="json"),
        sources=g.sources,
        spend=g.spend,
        record=g.record,
    )
    results = []
    for inv in g.edge.invariants:
        try:
            problem = inv.check(g.output, ictx)
        except Exception as exc:
            detail = f"invariant '{inv.name}' could not run: {type(exc).__name__}: {exc}"
            results.append(_fail("domain", inv.name, list(inv.mast), detail, "escalate"))
            continue
        if problem is None:
            results.append(CheckResult(check="domain", name=inv.name, ok=True))
        else:
            results.append(_fail("domain", inv.name, list(inv.mast), problem, inv.on_fail))
    return results


CHECKS: tuple[tuple[CheckName, Callable[[GateInput], list[CheckResult]]], ...] = (
    ("agent", check_agent),
    ("contract", check_contract),
    ("fidelity", check_fidelity),
    ("freshness", check_freshness),
    ("budget", check_budgets),
    ("loop", check_loop),
    ("domain", check_domain),
)

NEEDS_VALID_OUTPUT: frozenset[CheckName] = frozenset({"freshness", "domain"})
"""Checks that read the payload as its contract: skipped when the agent or contract check
failed (which already fails the gate)."""


def run_checks(g: GateInput) -> list[CheckResult]:
    """Run every check in order; a check that raises is a failed check that escalates."""
    results: list[CheckResult] = []
    valid = True
    agent_ok = not g.handoff.get("error")
    for name, check in CHECKS:
        if (name in NEEDS_VALID_OUTPUT and not valid) or (
            name in ("contract", "fidelity") and not agent_ok
        ):
            continue  # no output to judge: the agent check already fails the gate
        try:
            out = check(g)
        except Exception as exc:  # fail closed: a broken check is never a pass
            detail = f"check '{name}' could not run: {type(exc).__name__}: {exc}"
            out = [_fail(name, f"{name}:error", ["FM-3.2"], detail, "escalate")]
        if name in ("agent", "contract"):
            valid = valid and all(r.ok for r in out)
        results.extend(out)
    return results


def _fail(
    check: CheckName, name: str, mast: list[MastCode], detail: str, on_fail: OnFail = "revise"
) -> CheckResult:
    return CheckResult(check=check, name=name, ok=False, mast=mast, detail=detail, on_fail=on_fail)

"""The gate's checks, in order: contract, fidelity, freshness, budget, loop, domain.

Each check returns ``CheckResult``s; none of them raises: :func:`run_checks` turns an exception
in a check into a failed check (fail closed), never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from graph.chain import Chain, Edge, InvariantContext
from graph.context import RunContext, Source
from state.contracts import Contract, Fact
from state.run_state import Handoff, RunState
from state.verdicts import CheckName, CheckResult


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

    @property
    def contract(self) -> type[Contract]:
        return self.chain.stage(self.edge.source).produces

    def upstream(self) -> dict[str, Any]:
        """The payload the producing stage consumed (the run request for the entry stage)."""
        delivery = self.state.get("inbox", {}).get(self.edge.source)
        if delivery is not None:
            return dict(delivery["payload"])
        return dict(self.state.get("request", {}))


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


def _origin_value(g: GateInput, field: str) -> tuple[bool, Any]:
    """The value ``field`` had when it last came into the producing stage."""
    upstream = g.upstream()
    if field in upstream:
        return True, upstream[field]
    for earlier in reversed(g.state.get("handoffs", [])[:-1]):
        if field in earlier["payload"]:
            return True, earlier["payload"][field]
    return False, None


def check_fidelity(g: GateInput) -> list[CheckResult]:
    """Every ``Carried`` field equals the value the producer received: nothing lost or bent."""
    results: list[CheckResult] = []
    payload = g.handoff["payload"]
    for field in g.contract.carried_fields():
        found, expected = _origin_value(g, field)
        if not found:
            continue  # the field originates at this stage
        name = f"fidelity:{field}"
        if field not in payload:
            results.append(
                _fail("fidelity", name, ["FM-1.4", "FM-2.4"], f"carried field '{field}' dropped")
            )
        elif payload[field] != expected:
            results.append(
                _fail(
                    "fidelity",
                    name,
                    ["FM-1.4"],
                    f"carried field '{field}' changed: {expected!r} became {payload[field]!r}",
                )
            )
        else:
            results.append(CheckResult(check="fidelity", name=name, ok=True))
    return results


def check_freshness(g: GateInput) -> list[CheckResult]:
    """Every fact in the payload is re-read from its source: same version, TTL not expired."""
    results: list[CheckResult] = []
    now = g.ctx.clock()
    for field in g.contract.fact_fields():
        raw = g.handoff["payload"].get(field)
        if raw is None:
            continue
        fact = Fact.model_validate(raw)
        name = f"freshness:{field}"
        source = g.sources.get(fact.source)
        if source is None:
            results.append(
                _fail(
                    "freshness",
                    name,
                    ["FM-3.2"],
                    f"source of truth '{fact.source}' is not available to re-read {fact.key}",
                    on_fail="escalate",
                )
            )
            continue
        current = source.read(fact.key)
        if current.version != fact.version:
            results.append(
                _fail(
                    "freshness",
                    name,
                    ["FM-3.2"],
                    f"{fact.source}/{fact.key} is stale: read at version {fact.version} "
                    f"(value {fact.value!r}), now version {current.version} "
                    f"(value {current.value!r})",
                )
            )
        elif fact.expired(now):
            results.append(
                _fail(
                    "freshness",
                    name,
                    ["FM-3.2"],
                    f"{fact.source}/{fact.key} read at {fact.as_of.isoformat()} is older than "
                    f"its TTL of {fact.ttl_s}s",
                )
            )
        else:
            results.append(CheckResult(check="freshness", name=name, ok=True))
    return results


def check_budgets(g: GateInput) -> list[CheckResult]:
    """Steps, wall time, tokens, cost and passes over this edge stay within budget."""
    b = g.chain.budgets
    s = g.state
    usage = s.get("usage", {})
    elapsed = time.time() - s.get("started_at", time.time())
    limits: list[tuple[str, bool, str, Any]] = [
        ("budget:steps", s.get("steps", 0) <= b.max_steps, "block", b.max_steps),
        ("budget:wall_time", elapsed <= b.max_wall_s, "block", b.max_wall_s),
    ]
    if b.max_tokens is not None:
        limits.append(("budget:tokens", usage.get("tokens", 0) <= b.max_tokens, "block", None))
    if b.max_cost is not None:
        limits.append(("budget:cost", usage.get("cost", 0) <= b.max_cost, "block", None))
    if g.edge.max_traversals is not None:
        passes = int(s.get("traversals", {}).get(g.edge.id, 0))
        limits.append(
            ("budget:traversals", passes < g.edge.max_traversals, "escalate", g.edge.max_traversals)
        )
    results = []
    for name, ok, on_fail, limit in limits:
        if ok:
            results.append(CheckResult(check="budget", name=name, ok=True))
        else:
            results.append(
                _fail("budget", name, ["FM-1.5"], f"{name} exhausted (limit {limit})", on_fail)
            )
    return results


def check_loop(g: GateInput) -> list[CheckResult]:
    """The same stage handing off the same payload again is a loop nobody owns."""
    h = g.handoff
    for earlier in g.state.get("handoffs", [])[:-1]:
        if earlier["stage"] == h["stage"] and earlier["hash"] == h["hash"]:
            return [
                _fail(
                    "loop",
                    "loop:repeat",
                    ["FM-1.3"],
                    f"'{h['stage']}' handed off the same payload again (first at handoff "
                    f"#{earlier['seq']}, again at #{h['seq']}): the work is going round",
                    on_fail="escalate",
                )
            ]
    return [CheckResult(check="loop", name="loop:repeat", ok=True)]


def check_domain(g: GateInput) -> list[CheckResult]:
    """The workflow's own invariants for this edge."""
    if not g.edge.invariants:
        return []
    output = g.contract.model_validate(g.handoff["payload"])
    ictx = InvariantContext(
        request=g.state.get("request", {}), upstream=g.upstream(), sources=g.sources
    )
    results = []
    for inv in g.edge.invariants:
        problem = inv.check(output, ictx)
        if problem is None:
            results.append(CheckResult(check="domain", name=inv.name, ok=True))
        else:
            results.append(_fail("domain", inv.name, list(inv.mast), problem, inv.on_fail))
    return results


CHECKS: tuple[tuple[CheckName, Callable[[GateInput], list[CheckResult]]], ...] = (
    ("contract", check_contract),
    ("fidelity", check_fidelity),
    ("freshness", check_freshness),
    ("budget", check_budgets),
    ("loop", check_loop),
    ("domain", check_domain),
)


def run_checks(g: GateInput) -> list[CheckResult]:
    """Run every check in order; a check that raises is a failed check that escalates."""
    results: list[CheckResult] = []
    contract_ok = True
    for name, check in CHECKS:
        if name in ("freshness", "domain") and not contract_ok:
            continue  # they need a valid contract; the contract failure already fails the gate
        try:
            out = check(g)
        except Exception as exc:  # fail closed: a broken check is never a pass
            out = [
                _fail(
                    name,
                    f"{name}:error",
                    ["FM-3.2"],
                    f"check '{name}' could not run: {type(exc).__name__}: {exc}",
                    on_fail="escalate",
                )
            ]
        if name == "contract":
            contract_ok = all(r.ok for r in out)
        results.extend(out)
    return results


def _fail(
    check: CheckName, name: str, mast: list[Any], detail: str, on_fail: Any = "revise"
) -> CheckResult:
    return CheckResult(check=check, name=name, ok=False, mast=mast, detail=detail, on_fail=on_fail)

"""Build-time validation of a chain: a malformed chain never reaches LangGraph."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any, get_args

from graph.chain import Chain, Edge, Stage
from state.decisions import Tier
from state.errors import WaybillError
from state.nodes import END, act_node

_TIERS = "allowed: " + ", ".join(get_args(Tier))


class ChainError(WaybillError, ValueError):
    """A chain that cannot be built; ``problems`` names each thing wrong."""

    def __init__(self, chain: str, problems: list[str]) -> None:
        self.chain = chain
        self.problems = problems
        super().__init__(f"chain '{chain}' is invalid: " + "; ".join(problems))


def validate_chain(chain: Chain) -> None:
    """Raise :class:`ChainError` listing every problem of ``chain``, or return None."""
    problems: list[str] = []
    names = [s.name for s in chain.stages]
    known = set(names)
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"stage '{name}' is declared more than once")
    for name in names:
        if (
            name == END
            or name.startswith(("gate ", "review "))
            or any(ch in name for ch in "|: ")
            or not name
        ):
            problems.append(f"stage name '{name}' is reserved or empty")
    if chain.entry not in known:
        problems.append(f"entry stage '{chain.entry}' is not a declared stage")
    problems += _edge_problems(chain, known)
    problems += _stage_problems(chain)
    problems += _carried_problems(chain)
    problems += _invariant_problems(chain, known)
    if not problems:
        problems += _reachability_problems(chain)
        problems += _cycle_problems(chain)
    problems += _fault_problems(chain, known)
    if problems:
        raise ChainError(chain.name, problems)


def _edge_problems(chain: Chain, known: set[str]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for edge in chain.edges:
        if edge.id in seen:
            problems.append(f"edge {edge.id} is declared more than once")
        seen.add(edge.id)
        if edge.source not in known:
            problems.append(f"edge {edge.id}: unknown stage '{edge.source}'")
            continue
        if edge.target != END and edge.target not in known:
            problems.append(f"edge {edge.id}: unknown stage '{edge.target}'")
            continue
        if edge.max_traversals is not None and edge.max_traversals < 1:
            problems.append(f"edge {edge.id}: max_traversals must be at least 1")
        producer = chain.stage(edge.source)
        if edge.target == END:
            continue
        consumer = chain.stage(edge.target)
        # A subclass is accepted: it carries everything the consumer needs (e.g. a purchase
        # order bounced back to sourcing still is a stock report).
        if not issubclass(producer.produces, consumer.consumes):
            problems.append(
                f"edge {edge.id}: contract mismatch: '{edge.source}' produces "
                f"{producer.produces.__name__} but '{edge.target}' consumes "
                f"{consumer.consumes.__name__}"
            )
    return problems


def _fault_problems(chain: Chain, known: set[str]) -> list[str]:
    problems: list[str] = []
    catchers = {e.gate_ref for e in chain.edges}
    catchers |= {act_node(s.name) for s in chain.stages if s.actions}
    for fault in chain.faults:
        if fault.stage not in known:
            problems.append(f"fault '{fault.name}' names unknown stage '{fault.stage}'")
        elif fault.when != "output" and not chain.stage(fault.stage).actions:
            problems.append(
                f"fault '{fault.name}' strikes at acting time ({fault.when}) but stage "
                f"'{fault.stage}' has no action"
            )
        if fault.expect not in catchers:
            problems.append(
                f"fault '{fault.name}' expects unknown gate '{fault.expect.name}' (known: a gate "
                "'gate A->B' of an edge, or 'act A' of a stage with actions)"
            )
    return problems


def _reads(check: Callable[..., object]) -> type | None:
    """The contract class a check's first parameter is annotated with (None when unknown)."""
    try:
        hints = typing.get_type_hints(check)
    except Exception:  # an annotation that does not resolve: nothing to compare
        return None
    params = [name for name in inspect.signature(check).parameters if name in hints]
    first = hints.get(params[0]) if params else None
    return first if isinstance(first, type) else None


def _invariant_problems(chain: Chain, known: set[str]) -> list[str]:
    """An invariant must read what its edge hands off (mypy cannot see edges)."""
    problems: list[str] = []
    for edge in chain.edges:
        if edge.source not in known:
            continue
        produced = chain.stage(edge.source).produces
        for inv in edge.invariants:
            reads = _reads(inv.check)
            if reads is not None and not issubclass(produced, reads):
                problems.append(
                    f"edge {edge.id}: invariant '{inv.name}' reads {reads.__name__}, but "
                    f"'{edge.source}' hands off {produced.__name__}"
                )
    return problems


def _carried_problems(chain: Chain) -> list[str]:
    """A ``Carried`` field must have a field of the same name in the stage's input contract:
    otherwise there is nothing to compare it with, and fidelity would silently be off."""
    problems: list[str] = []
    for stage in chain.stages:
        inputs = stage.consumes.model_fields
        for name in stage.produces.carried_fields():
            if name not in inputs:
                problems.append(
                    f"stage '{stage.name}': carried field '{name}' of "
                    f"{stage.produces.__name__} has no field of that name in its input "
                    f"{stage.consumes.__name__} (a typo, or a field that is not carried?)"
                )
    return problems


def _stage_problems(chain: Chain) -> list[str]:
    problems: list[str] = []
    finishers = chain.finishing()
    if len(finishers) != 1:
        problems.append(
            f"exactly one stage must finish the run with an edge to END (found {len(finishers)}: "
            f"{', '.join(finishers) or 'none'})"
        )
    for stage in chain.stages:
        outs = chain.out_edges(stage.name)
        if not outs:
            problems.append(f"stage '{stage.name}' has no outgoing edge (a dead end)")
        if len(outs) > 1 and stage.route is None:
            problems.append(
                f"stage '{stage.name}' has {len(outs)} outgoing edges but no route function"
            )
        if not stage.owner:
            problems.append(f"stage '{stage.name}' has no owner")
        problems += _action_problems(stage)
    return problems


def _action_problems(stage: Stage[Any, Any]) -> list[str]:
    """Caught here, not when the action runs: by then its effect may have happened."""
    problems: list[str] = []
    names = [action.name for action in stage.actions]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            f"action '{name}' of stage '{stage.name}' is declared more than once (one "
            "idempotency key for two actions)"
        )
    for action in stage.actions:
        where = f"action '{action.name}' of stage '{stage.name}'"
        if not isinstance(action.name, str) or not action.name.strip():
            problems.append(f"an action of stage '{stage.name}' has an empty name")
        if action.tier is None:
            problems.append(f"{where} has no autonomy tier ({_TIERS})")
        elif action.tier not in get_args(Tier):
            problems.append(f"{where} has an unknown autonomy tier '{action.tier}' ({_TIERS})")
        for field in ("run", "args"):
            if not callable(getattr(action, field)):
                problems.append(f"{where}: {field} is not a function")
    return problems


def _reachability_problems(chain: Chain) -> list[str]:
    reached = {chain.entry}
    frontier = [chain.entry]
    while frontier:
        node = frontier.pop()
        for edge in chain.out_edges(node):
            if edge.target != END and edge.target not in reached:
                reached.add(edge.target)
                frontier.append(edge.target)
    return [
        f"stage '{s.name}' is unreachable from entry '{chain.entry}'"
        for s in chain.stages
        if s.name not in reached
    ]


def _cycle_problems(chain: Chain) -> list[str]:
    """Every cycle must cross at least one edge with ``max_traversals``."""
    # An edge with a budget bounds every cycle through it, so drop those edges and look for a
    # cycle in what remains: any cycle left has no budget.
    unbounded: dict[str, list[Edge]] = {}
    for edge in chain.edges:
        if edge.max_traversals is None and edge.target != END:
            unbounded.setdefault(edge.source, []).append(edge)
    cycle = _find_cycle(unbounded, [stage.name for stage in chain.stages])
    if cycle is None:
        return []
    return [f"cycle {' -> '.join(cycle)} has no budget: set max_traversals on one of its edges"]


def _find_cycle(out_edges: dict[str, list[Edge]], starts: list[str]) -> list[str] | None:
    """A cycle through ``out_edges`` (its nodes, the first one repeated last), or None.

    A depth-first search from each start in turn, so the cycle reported is always the same one.
    """
    colour: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        path.append(node)
        for edge in out_edges.get(node, []):
            nxt = edge.target
            if colour.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in colour:
                found = visit(nxt)
                if found:
                    return found
        colour[node] = 2
        path.pop()
        return None

    for start in starts:
        if start not in colour:
            cycle = visit(start)
            if cycle:
                return cycle
    return None

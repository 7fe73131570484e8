"""Declaring a workflow: a chain of stages, typed handoff edges, actions, faults and budgets.

A chain is data. ``graph.compiler.build_chain_graph`` turns it into a LangGraph ``StateGraph``
with a gate node on every edge; ``graph.validate.validate_chain`` rejects a malformed chain at
build time. Everything is typed on the contracts it reads: ``Stage[In, Out]`` checks that its
agent takes ``In`` and returns ``Out``, an ``Invariant[Out]`` or ``Action[Out]`` reads ``Out``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from graph.agent import AgentContext, AgentResult
from graph.policy import Action as Action
from graph.policy import Effect as Effect
from graph.policy import EnvelopeRule as EnvelopeRule
from graph.policy import envelope as envelope
from graph.tools import ToolSet
from state.budgets import Budgets
from state.contracts import Contract
from state.mast import MastCode
from state.nodes import END, NodeRef, act_node, edge_id, gate_node, review_node, stage_node
from state.sources import Source
from state.verdicts import OnFail

InT = TypeVar("InT", bound=Contract)
OutT = TypeVar("OutT", bound=Contract)

Json = dict[str, Any]
"""A JSON object: a payload as it travels (what a fault alters), an action's arguments or its
result."""

FailureMode = Literal[
    "lossy_summary", "handoff_loop", "stale_state", "silent_error", "unknown_outcome"
]
"""The four handoff failures, and the side effect whose outcome was lost (a worker died)."""


Recorder = Callable[[str, Callable[[], Any]], Any]
"""``record(what, compute)``: ``compute()``'s JSON answer, computed once per ``what`` at this
gate of this run (see :meth:`graph.context.RunContext.recorder`)."""


def live(what: str, compute: Callable[[], Any]) -> Any:
    """A :data:`Recorder` that records nothing (a run with no tape)."""
    return compute()


@dataclass(frozen=True)
class InvariantContext:
    """What a domain invariant may look at besides the payload."""

    request: Mapping[str, Any]
    upstream: Mapping[str, Any]
    """The payload the producing stage consumed."""
    sources: Mapping[str, Source]
    spend: dict[str, float] = field(default_factory=dict)
    """What the invariant spent on model calls (``tokens``, ``cost``): an LLM judge adds its
    call's usage here, and the gate adds it to the run's usage (which budgets read)."""
    record: Recorder = live
    """Where an invariant's model call goes: on the run's tape, so that a gate run again (on
    resume, after a crash) gets the first answer again and a replay makes no call."""


@dataclass(frozen=True)
class Invariant(Generic[OutT]):
    """A domain rule checked by the gate of an edge: returns None when it holds, else why not."""

    name: str
    check: Callable[[OutT, InvariantContext], str | None]
    mast: tuple[MastCode, ...]
    on_fail: OnFail = "revise"


def invariant(
    *mast: MastCode, on_fail: OnFail = "revise"
) -> Callable[[Callable[[OutT, InvariantContext], str | None]], Invariant[OutT]]:
    """Decorator: the function is the invariant, its name the invariant's name.

    Example:
        >>> @invariant("FM-1.1")
        ... def quantity_in_request(out: OrderSpec, ictx: InvariantContext) -> str | None: ...
    """

    def make(check: Callable[[OutT, InvariantContext], str | None]) -> Invariant[OutT]:
        return Invariant(check.__name__, check, tuple(mast), on_fail)

    return make


@dataclass(frozen=True)
class Stage(Generic[InT, OutT]):
    """One specialist agent's place in the chain: it consumes ``InT`` and produces ``OutT``."""

    name: str
    agent: Callable[[InT, AgentContext], AgentResult[OutT]]
    consumes: type[InT]
    produces: type[OutT]
    owner: str
    """Who answers for this stage (a team or person); named on its escalations."""
    actions: tuple[Action[OutT], ...] = ()
    route: Callable[[OutT], str] | None = None
    """For a stage with several outgoing edges: picks the target from the output."""
    description: str = ""
    tools: tuple[ToolSet, ...] = ()
    """Tool sets (e.g. MCP servers) whose allowed, read-only tools the agent may call."""


@dataclass(frozen=True)
class Edge:
    """A typed handoff ``source -> target`` (``END``: the run finishes there); always gated."""

    source: str
    target: str
    invariants: tuple[Invariant[Any], ...] = ()
    max_traversals: int | None = None
    """Bound on passes over this edge; a cycle needs one on at least one of its edges."""

    @property
    def id(self) -> str:
        """``source->target``: how the edge is named in verdicts, counters and the console."""
        return edge_id(self.source, self.target)

    @property
    def gate_ref(self) -> NodeRef:
        """The edge's gate node."""
        return gate_node(self.source, self.target)

    @property
    def review_ref(self) -> NodeRef:
        """The edge's human review node (where an ``escalate`` verdict waits)."""
        return review_node(self.source, self.target)

    @property
    def gate(self) -> str:
        """The LangGraph name of the edge's gate node."""
        return self.gate_ref.name

    @property
    def review(self) -> str:
        """The LangGraph name of the edge's review node."""
        return self.review_ref.name


@dataclass(frozen=True)
class FaultContext:
    """What a fault may touch when it is applied."""

    run_id: str
    sources: Mapping[str, Source]


FaultTime = Literal["output", "before_action", "after_call"]
"""When a fault strikes: on the stage's output (``apply`` alters the payload), between the
gate's pass and the stage's first action (``apply`` may move the world; the payload is kept),
or after an action's call and before its result is recorded (the worker dies there)."""


def _unchanged(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return payload


@dataclass(frozen=True)
class Fault:
    """A failure injected into one stage, and where and how it must be caught."""

    name: str
    stage: str
    mode: FailureMode
    description: str
    expect: NodeRef
    """The node expected to catch it: ``gate_node("intake", "inventory")``, or
    ``act_node("place_order")`` for a fault at acting time."""
    expect_mast: MastCode
    apply: Callable[[dict[str, Any], FaultContext], dict[str, Any]] = _unchanged
    persistent: bool = False
    """Applied on every run of the stage (a loop) or only on its first (a transient error)."""
    when: FaultTime = "output"


def fault(
    stage: str,
    mode: FailureMode,
    expect: NodeRef,
    mast: MastCode,
    *,
    persistent: bool = False,
    when: FaultTime = "output",
) -> Callable[[Callable[[Json, FaultContext], Json]], Fault]:
    """Decorator: the function applies the fault; its name names it, its docstring says what
    it does (the scenario suite's table shows it)."""

    def make(apply: Callable[[Json, FaultContext], Json]) -> Fault:
        what = " ".join((apply.__doc__ or "").split())
        return Fault(
            apply.__name__.strip("_"), stage, mode, what, expect, mast, apply, persistent, when
        )

    return make


def _no_sources() -> dict[str, Source]:
    return {}


@dataclass(frozen=True)
class Chain:
    """A workflow: stages, edges, budgets and the faults it can be tested with."""

    name: str
    description: str
    stages: tuple[Stage[Any, Any], ...]
    edges: tuple[Edge, ...]
    entry: str
    budgets: Budgets = field(default_factory=Budgets)
    faults: tuple[Fault, ...] = ()
    sources: Callable[[], dict[str, Source]] = _no_sources
    """Builds the run's sources of truth (called once per run)."""
    examples: Mapping[str, Path] = field(default_factory=dict)
    """Example inputs by name (the first one is the scenario suite's)."""

    def stage(self, name: str) -> Stage[Any, Any]:
        """The stage called ``name`` (KeyError if none)."""
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def out_edges(self, stage: str) -> list[Edge]:
        """The edges leaving stage ``stage``, in declaration order."""
        return [e for e in self.edges if e.source == stage]

    def edge(self, source: str, target: str) -> Edge:
        """The edge ``source -> target`` (KeyError, naming the edge, if none)."""
        for e in self.edges:
            if e.source == source and e.target == target:
                return e
        raise KeyError(edge_id(source, target))

    def fault(self, name: str) -> Fault:
        """The fault called ``name`` (KeyError if the chain declares none)."""
        for f in self.faults:
            if f.name == name:
                return f
        raise KeyError(name)

    def nodes(self) -> dict[str, NodeRef]:
        """Every node of the compiled graph, by its LangGraph name."""
        refs = [stage_node(s.name) for s in self.stages]
        refs += [act_node(s.name) for s in self.stages if s.actions]
        refs += [ref for e in self.edges for ref in (e.gate_ref, e.review_ref)]
        return {ref.name: ref for ref in refs}

    def finishing(self) -> list[str]:
        """The stages that may finish the run (they have an edge to END)."""
        return [e.source for e in self.edges if e.target == END]

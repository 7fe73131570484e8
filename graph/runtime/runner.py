"""Run a chain in this process: start, follow updates, answer escalations, resume.

Workers (``graph.runtime.worker``) use the same pieces with the Redis checkpointer; this module
is what ``waybill run --local`` and the tests use.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability
from pydantic import ValidationError

from graph.act import WorkerCrash
from graph.chain import Chain
from graph.compiler import build_chain_graph
from graph.context import RunContext
from graph.handoff import split
from graph.hashing import unstorable
from state.decisions import Decision, EscalationRequest
from state.errors import WaybillError
from state.run_state import RunState

DEFAULT_RECURSION_LIMIT = 200
"""Always explicit: LangGraph 1.2's own default is 10007 steps."""

Compiled = CompiledStateGraph[RunState, RunContext, RunState, RunState]
Decider = Callable[[EscalationRequest], Decision | None]
"""Answers an escalation; ``None``: no answer now (the run stops there, ``waiting``)."""
UpdateHook = Callable[[str, dict[str, Any]], None]


class InputError(WaybillError, ValueError):
    """A run's input or options are wrong; the message is one line naming the problem."""


@dataclass
class RunOutcome:
    """Where a run stands after :func:`run_chain` returns."""

    run_id: str
    status: str
    """``succeeded | failed | rejected | killed``, or ``waiting`` at an unanswered escalation."""
    state: RunState
    pending: EscalationRequest | None = None
    interrupt_id: str | None = None


def validate_request(chain: Chain, request: Any) -> dict[str, Any]:
    """Check ``request`` against the entry stage's contract; one-line :class:`InputError`."""
    contract = chain.stage(chain.entry).consumes
    if not isinstance(request, dict):
        raise InputError(f"the input must be a JSON object for {contract.__name__}")
    try:
        payload: dict[str, Any] = contract.model_validate(request).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"the input is not a valid {contract.__name__}: {problems}") from None
    bad = unstorable(payload)
    if bad:
        raise InputError(f"the input is not a valid {contract.__name__}: {bad}")
    return payload


def validate_inject(chain: Chain, inject: str | None) -> None:
    """An unknown fault name is an :class:`InputError` listing the known ones."""
    if inject is not None and inject not in {f.name for f in chain.faults}:
        known = ", ".join(f.name for f in chain.faults) or "none"
        raise InputError(f"unknown fault '{inject}' for {chain.name} (known: {known})")


def initial_state(chain: Chain, run_id: str, request: dict[str, Any]) -> RunState:
    """A fresh run state: every key present so nodes can read without defaults."""
    return {
        "run_id": run_id,
        "workflow": chain.name,
        "request": request,
        "started_at": time.time(),
        "waited_s": 0.0,
        "handoffs": [],
        "inbox": {},
        "feedback": {},
        "verdicts": [],
        "decisions": [],
        "human": [],
        "actions": [],
        "facts": {},
        "faults": [],
        "steps": 0,
        "revisions": {},
        "traversals": {},
        "usage": {},
        "status": "running",
        "reason": "",
    }


_compiled: dict[int, tuple[weakref.ref[Chain], Compiled]] = {}
"""Compiled graphs by chain object: compiling costs ~60 ms, a copy with another checkpointer
~0.05 ms. A chain is immutable and its nodes keep nothing per run (sources, tape and ledger
come from the run's context), so one compiled graph serves every run of it."""


def compile_chain(chain: Chain, checkpointer: BaseCheckpointSaver[Any] | None) -> Compiled:
    """``chain`` compiled with ``checkpointer`` (the compile is done once per chain object)."""
    entry = _compiled.get(id(chain))
    if entry is None or entry[0]() is not chain:
        for key in [k for k, (ref, _) in _compiled.items() if ref() is None]:
            del _compiled[key]  # chains that are gone (ids get reused)
        base = build_chain_graph(chain).compile(name=chain.name)
        _compiled[id(chain)] = (weakref.ref(chain), base)
    else:
        base = entry[1]
    return base.copy({"checkpointer": checkpointer})


def run_config(run_id: str, recursion_limit: int = DEFAULT_RECURSION_LIMIT) -> RunnableConfig:
    """The config of ``run_id``'s thread, with an explicit recursion limit."""
    return {"configurable": {"thread_id": run_id}, "recursion_limit": recursion_limit}


def stream_updates(
    graph: Compiled,
    payload: Any,
    config: RunnableConfig,
    ctx: RunContext,
    durability: Durability = "sync",
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(node, update)`` for every node that wrote something."""
    for chunk in graph.stream(
        payload, config, context=ctx, stream_mode="updates", durability=durability
    ):
        for node, update in chunk.items():
            if node != "__interrupt__" and isinstance(update, dict):
                yield from split(node, update)


def outcome_of(graph: Compiled, run_id: str, config: RunnableConfig) -> RunOutcome:
    """Read where ``run_id`` stands from its checkpoint."""
    snap = graph.get_state(config)
    values = cast(RunState, snap.values)
    if snap.interrupts:
        intr = snap.interrupts[0]
        return RunOutcome(
            run_id=run_id,
            status="waiting",
            state=values,
            pending=EscalationRequest.model_validate(intr.value),
            interrupt_id=intr.id,
        )
    return RunOutcome(run_id=run_id, status=values.get("status", "running"), state=values)


def run_chain(
    chain: Chain,
    request: Any,
    *,
    run_id: str | None = None,
    inject: str | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    decide: Decider | None = None,
    on_update: UpdateHook | None = None,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ctx: RunContext | None = None,
) -> RunOutcome:
    """Run ``chain`` on ``request`` to its end, asking ``decide`` at each escalation.

    Without ``decide`` the run stops at its first escalation with status ``waiting``; call
    :func:`resume_chain` with the same checkpointer to answer it.

    Raises:
        InputError: the request does not fit the entry contract, or the fault is unknown.
    """
    payload = validate_request(chain, request)
    validate_inject(chain, inject)
    run_id = run_id or uuid.uuid4().hex[:12]
    ctx = ctx or RunContext(run_id=run_id, inject=inject, sources=chain.sources())
    graph = compile_chain(chain, checkpointer or InMemorySaver())
    config = run_config(run_id, recursion_limit)
    first: Any = initial_state(chain, run_id, payload)
    return _drive(graph, first, config, ctx, decide, on_update)


def resume_chain(
    graph: Compiled,
    run_id: str,
    decision: Decision,
    ctx: RunContext,
    *,
    decide: Decider | None = None,
    on_update: UpdateHook | None = None,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> RunOutcome:
    """Answer the pending escalation of ``run_id`` with ``decision`` and run on.

    Raises:
        InputError: the run has no pending escalation (a late or duplicate decision).
    """
    config = run_config(run_id, recursion_limit)
    current = outcome_of(graph, run_id, config)
    if current.interrupt_id is None:
        raise InputError(f"run {run_id} has no pending escalation (status: {current.status})")
    return _drive(
        graph, resume_command(current.interrupt_id, decision), config, ctx, decide, on_update
    )


def continue_chain(
    graph: Compiled,
    run_id: str,
    ctx: RunContext,
    *,
    decide: Decider | None = None,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> RunOutcome:
    """Run ``run_id`` on from its thread's last checkpoint (e.g. the first one of a fork)."""
    return _drive(graph, None, run_config(run_id, recursion_limit), ctx, decide, None)


def resume_command(interrupt_id: str, decision: Decision, *, waited_s: float = 0.0) -> Command[Any]:
    """The command that answers interrupt ``interrupt_id`` with ``decision`` (``waited_s``: how
    long the question waited for it, kept off the run's wall-time budget).

    Raises:
        InputError: the decision holds a value no run can store (e.g. an edit with an integer
            beyond 64 bits): the run keeps waiting.
    """
    answer = decision.model_dump(mode="json")
    bad = unstorable(answer)
    if bad:
        raise InputError(f"the decision cannot be stored: {bad.removeprefix('edited.')}")
    if waited_s > 0:
        return Command(resume={interrupt_id: answer}, update={"waited_s": waited_s})
    return Command(resume={interrupt_id: answer})


def _drive(
    graph: Compiled,
    first: Any,
    config: RunnableConfig,
    ctx: RunContext,
    decide: Decider | None,
    on_update: UpdateHook | None,
) -> RunOutcome:
    payload = first
    while True:
        try:
            for node, update in stream_updates(graph, payload, config, ctx):
                if on_update is not None:
                    on_update(node, update)
        except WorkerCrash:
            # An injected worker death (``after_call``): resume from the last checkpoint, as
            # the next worker would. The node that died is run again from its start, with the
            # answer it was resumed with if its question is still open there (a worker resumes
            # from the decided escalation: nobody is asked again).
            payload = _after_crash(graph, config, payload)
            continue
        outcome = outcome_of(graph, ctx.run_id, config)
        decision = None if outcome.pending is None or decide is None else decide(outcome.pending)
        if decision is None:
            return outcome
        assert outcome.interrupt_id is not None
        payload = resume_command(outcome.interrupt_id, decision)


def _after_crash(graph: Compiled, config: RunnableConfig, payload: Any) -> Any:
    """What to go on with after a worker death: ``payload`` if it answers questions the last
    checkpoint still asks, else nothing (the checkpoint's own next step)."""
    resume = payload.resume if isinstance(payload, Command) else None
    if not isinstance(resume, dict):
        return None
    open_ids = {i.id for i in graph.get_state(config).interrupts}
    return payload if set(resume) <= open_ids else None

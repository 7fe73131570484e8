"""The run state LangGraph checkpoints: handoffs, verdicts, decisions, facts and counters.

Values are plain JSON-like data (dicts of ``model_dump(mode="json")``), never Python objects,
so a checkpoint can be read by any process and deserialised strictly. Use the typed accessors
(:func:`verdicts_of`, ...) to get pydantic models back.

Every key has an explicit reducer because several nodes (stages, gates, reviews) write them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from typing_extensions import TypedDict

from state.decisions import ActionRecord, DecisionRecord
from state.status import TERMINAL_STATUSES, GraphStatus
from state.verdicts import GateVerdict

RunStatus = GraphStatus
TERMINAL = TERMINAL_STATUSES


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Reducer: keys of ``right`` replace those of ``left``."""
    return {**left, **right}


def add_counts(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    """Reducer: counters are summed key by key."""
    out = dict(left)
    for key, value in right.items():
        out[key] = out.get(key, 0) + value
    return out


def last(_left: Any, right: Any) -> Any:
    """Reducer: the latest write wins (nodes run one at a time in a chain)."""
    return right


class Handoff(TypedDict):
    """One contract handed from a stage (or a human edit) towards the next stage."""

    seq: int
    """Position in the run's handoff log, from 1."""
    stage: str
    """Producing stage."""
    target: str
    """Consuming stage, or ``__end__``."""
    contract: str
    """Contract class name."""
    payload: dict[str, Any]
    """The full payload, as handed off (never a summary)."""
    hash: str
    """sha256 of the canonical payload, for loop detection."""
    attempt: int
    """1 for the first try, then one more per revision."""
    input_seq: int
    """``seq`` of the delivery the stage consumed (0 for the run request)."""
    by: str
    """Agent name, or ``human:<user>`` for an edit (``human:<user> (fork)`` for a fork's)."""
    error: str
    """Empty, or what went wrong producing it (the agent raised or returned the wrong type):
    the gate fails such a handoff; nothing downstream ever reads it."""


class FaultMark(TypedDict):
    """Where an injected fault (scenario suite, ``--inject``) was applied."""

    fault: str
    handoff_seq: int
    """The handoff it altered (or that was being acted on); the node that applied it is the
    node of the update (a stage, or the act node for a fault at acting time)."""


class Delivery(TypedDict):
    """A payload that passed its gate and waits for its consuming stage."""

    payload: dict[str, Any]
    source: str
    seq: int


class RunState(TypedDict):
    """Shared state of one run of a chain."""

    run_id: Annotated[str, last]
    """The run (and LangGraph thread) id."""
    workflow: Annotated[str, last]
    """Name of the chain."""
    request: Annotated[dict[str, Any], last]
    """The run's input: the entry stage's contract payload."""
    started_at: Annotated[float, last]
    """Unix time the run started (wall-time budget)."""
    waited_s: Annotated[float, operator.add]
    """Seconds the run waited for people to decide: not counted against its wall-time
    budget (a question answered after an hour does not fail the next gate)."""
    handoffs: Annotated[list[Handoff], operator.add]
    """Every handoff in order."""
    inbox: Annotated[dict[str, Delivery], merge]
    """Per stage, the payload it will consume next."""
    feedback: Annotated[dict[str, list[str]], merge]
    """Per stage, the gate's reasons when it asked for a revision."""
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    """Every gate verdict (``GateVerdict`` dumps)."""
    decisions: Annotated[list[dict[str, Any]], operator.add]
    """Every agent decision (``DecisionRecord`` dumps)."""
    human: Annotated[list[dict[str, Any]], operator.add]
    """Every human decision (``Decision`` dumps, with the escalation they answered)."""
    actions: Annotated[list[dict[str, Any]], operator.add]
    """Every side effect taken or stopped (``ActionRecord`` dumps)."""
    facts: Annotated[dict[str, dict[str, Any]], merge]
    """Latest fact per ``source/key`` as read by an agent (``Fact`` dumps)."""
    faults: Annotated[list[FaultMark], operator.add]
    """Injected faults, where they were applied (empty for a clean run)."""
    steps: Annotated[int, operator.add]
    """Stage executions so far."""
    revisions: Annotated[dict[str, float], add_counts]
    """Revise loops per edge (``A->B``)."""
    traversals: Annotated[dict[str, float], add_counts]
    """Passes per edge."""
    usage: Annotated[dict[str, float], add_counts]
    """Model usage: ``tokens`` and ``cost``."""
    status: Annotated[RunStatus, last]
    """Where the run stands."""
    reason: Annotated[str, last]
    """Why it ended (the blocking verdict, the rejection, the kill)."""


def verdicts_of(state: RunState) -> list[GateVerdict]:
    """The run's verdicts as models."""
    return [GateVerdict.model_validate(v) for v in state.get("verdicts", [])]


def decisions_of(state: RunState) -> list[DecisionRecord]:
    """The run's agent decisions as models."""
    return [DecisionRecord.model_validate(d) for d in state.get("decisions", [])]


def actions_of(state: RunState) -> list[ActionRecord]:
    """The run's action records as models."""
    return [ActionRecord.model_validate(a) for a in state.get("actions", [])]

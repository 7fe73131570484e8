"""Per-run knobs passed to every node through LangGraph's ``context_schema``.

The context is not checkpointed: a process that resumes a run builds it again (same run id,
same injected fault, the same sources of truth).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from graph.chain import Recorder, live
from state.clock import utcnow
from state.sources import Source
from state.stores.ledger import ActionLedger, MemoryLedger

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

    from graph.tape import Tape
    from state.run_state import RunState


def _never_stop(stage: str) -> str | None:
    return None


def _never_pause(stage: str) -> Paused | None:
    return None


class Paused(Exception):  # noqa: N818 - reads as what happened to the run
    """Raised at a node boundary to stop a run *without* ending it: the node does not run, the
    run's last checkpoint stays, and it goes on from there later.

    ``hold``: a hold switch covers the run (it is recorded ``held`` until released);
    ``drain``: the worker executing it is stopping (the run goes back to the queue).
    """

    def __init__(self, kind: Literal["hold", "drain"], reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class RunContext:
    """Everything a node needs about its run besides the state."""

    run_id: str
    inject: str | None = None
    """Name of a fault of the chain to inject, or None for a clean run."""
    sources: Mapping[str, Source] = field(default_factory=dict)
    """Sources of truth by name, for agents and for the freshness check."""
    ledger: ActionLedger = field(default_factory=MemoryLedger)
    should_stop: Callable[[str], str | None] = _never_stop
    """Given the stage about to run (or being handed to), returns a reason when a kill switch
    covers this run, its workflow or that stage's agent; checked at every node boundary."""
    should_pause: Callable[[str], Paused | None] = _never_pause
    """Given the stage about to run, a :class:`Paused` when a hold switch covers the run (or
    its workflow, or that stage's agent) or its worker drains; checked after the kill switches
    at every node boundary, and raised there."""
    veto_window_s: float = 0.0
    clock: Callable[[], datetime] = utcnow
    tape: Tape | None = None
    """Records (or replays) agent results, source reads and human decisions of the run."""
    limits: Mapping[str, float] = field(default_factory=dict)
    """The workflow's adopted envelope limits by rule name (``graph.envelope.above`` rules)."""
    struck: set[str] = field(default_factory=set)
    """Faults this process already applied at acting time (so a re-run node does not move the
    world twice)."""

    def sources_for(self, scope: str) -> Mapping[str, Source]:
        """The sources as a node at ``scope`` sees them: through the tape when there is one."""
        return self.tape.sources(scope, self.sources) if self.tape is not None else self.sources

    def recorder(self, scope: str) -> Recorder:
        """Model calls made at ``scope`` (a gate's LLM judge), on the tape when there is one:
        a node run again gets the first answer again, and a replay makes no call."""
        tape = self.tape
        if tape is None:
            return live
        return lambda what, compute: tape.answer(scope, what, compute)

    def now(self, scope: str) -> datetime:
        """The time as a node at ``scope`` sees it: recorded on the tape, so that a replay
        judges freshness (TTLs) at the moment the run did, not today."""
        return self.tape.time(scope, self.clock) if self.tape is not None else self.clock()


class NodeFn(Protocol):
    """A node of a compiled chain: the run state and LangGraph's runtime in, a state update
    out (the runtime carries the :class:`RunContext`)."""

    def __call__(self, state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        """Run the node: the update it returns is merged into the run state."""
        ...


S = TypeVar("S")


def source_of(sources: Mapping[str, Source], name: str, kind: type[S]) -> S:
    """The run's source ``name`` as the class the caller needs (an action's target system).

    Raises:
        TypeError: the run's source of that name is not a ``kind`` (a mis-wired chain).
    """
    found: object = sources[name]
    if not isinstance(found, kind):
        raise TypeError(f"source '{name}' is a {type(found).__name__}, not a {kind.__name__}")
    return found

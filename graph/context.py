"""Per-run knobs passed to every node through LangGraph's ``context_schema``.

The context is not checkpointed: a process that resumes a run builds it again (same run id,
same injected fault, the same sources of truth).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from state.contracts import Fact, utcnow

if TYPE_CHECKING:
    from graph.tape import Tape


class Source(Protocol):
    """A source of truth that stamps what it returns with a version."""

    def read(self, key: str) -> Fact:
        """Read ``key`` now, with its current version."""
        ...


class ActionLedger(Protocol):
    """Remembers which side effects ran, by idempotency key, so a re-run never repeats one."""

    def recorded(self, key: str) -> dict[str, Any] | None:
        """The recorded result of ``key``, or None when it never ran."""
        ...

    def record(self, key: str, result: dict[str, Any]) -> None:
        """Record that ``key`` ran with ``result``."""
        ...


class MemoryLedger:
    """An in-process ledger, for local runs and tests."""

    def __init__(self) -> None:
        self._done: dict[str, dict[str, Any]] = {}

    def recorded(self, key: str) -> dict[str, Any] | None:
        return self._done.get(key)

    def record(self, key: str, result: dict[str, Any]) -> None:
        self._done[key] = result


def _never_stop(stage: str) -> str | None:
    return None


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
    veto_window_s: float = 0.0
    clock: Callable[[], datetime] = utcnow
    tape: Tape | None = None
    """Records (or replays) agent results, source reads and human decisions of the run."""

    def sources_for(self, scope: str) -> Mapping[str, Source]:
        """The sources as a node at ``scope`` sees them: through the tape when there is one."""
        return self.tape.sources(scope, self.sources) if self.tape is not None else self.sources

"""Per-run storage for sources of truth that keep state: so a run can move between processes.

A source of truth in a real deployment is an external system every worker reaches. The
reference workflows keep theirs in memory, so they run offline; a source that changes during a
run (stock moving, a policy revised) implements ``bind(store)`` and keeps its state in the
store it is given: a dict for runs in one process, a Redis hash of the run when workers execute
it (``wb:{<run>}:source:<name>``, see ``state.stores.mirror``), so a run resumed on another
worker sees the same world.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class Bindable(Protocol):
    """A source whose state lives in a store the run gives it."""

    def bind(self, store: MutableMapping[str, str]) -> None:
        """Load its state from ``store`` (or seed it there) and write every change back."""
        ...

"""What a source of truth is: something that answers a read with a versioned :class:`Fact`."""

from __future__ import annotations

from typing import Protocol

from state.contracts import Fact


class Source(Protocol):
    """A source of truth that stamps what it returns with a version."""

    def read(self, key: str) -> Fact:
        """Read ``key`` now, with its current version."""
        ...

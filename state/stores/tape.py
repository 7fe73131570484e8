"""Where a run's tape lives: its entries as JSON text by key, in memory or in the run's hash
``wb:{<run>}:tape`` (see ``graph.tape`` for what is recorded and how it is replayed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from state.keys import run_key


class TapeStore(Protocol):
    """Where a tape's entries live (JSON text by key)."""

    def get(self, key: str) -> str | None:
        """The entry recorded under ``key``, or None."""
        ...

    def put(self, key: str, value: str) -> None:
        """Record ``value`` under ``key`` (a later put replaces it)."""
        ...


@dataclass
class MemoryTapeStore:
    """A tape in a dict (local runs, replays)."""

    entries: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        """The entry recorded under ``key``, or None."""
        return self.entries.get(key)

    def put(self, key: str, value: str) -> None:
        """Record ``value`` under ``key``."""
        self.entries[key] = value


class RedisTapeStore:
    """A run's tape in its hash ``wb:{<run>}:tape``."""

    def __init__(self, client: redis.Redis, run_id: str) -> None:
        self._r = client
        self.key = run_key(run_id, "tape")

    def get(self, key: str) -> str | None:
        """The entry recorded under ``key`` in the run's hash, or None."""
        raw = self._r.hget(self.key, key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def put(self, key: str, value: str) -> None:
        """Record ``value`` under ``key`` in the run's hash."""
        self._r.hset(self.key, key, value)

    def entries(self) -> dict[str, str]:
        """The whole tape, by key (a replay copies it into memory)."""
        raw: dict[Any, Any] = self._r.hgetall(self.key)
        return {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }

"""Per-run storage for sources of truth that keep state: so a run can move between processes.

A source of truth in a real deployment is an external system every worker reaches. The
reference workflows keep theirs in memory, so they run offline; a source that changes during a
run (stock moving, a policy revised) implements ``bind(store)`` and keeps its state in the
store it is given: a dict for runs in one process, a Redis hash of the run when workers execute
it (``wb:{<run>}:source:<name>``), so a run resumed on another worker sees the same world.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Protocol, runtime_checkable

import redis

from state.keys import run_key


@runtime_checkable
class Bindable(Protocol):
    """A source whose state lives in a store the run gives it."""

    def bind(self, store: MutableMapping[str, str]) -> None:
        """Load its state from ``store`` (or seed it there) and write every change back."""
        ...


class RedisRunStore(MutableMapping[str, str]):
    """A string map in one Redis hash of one run."""

    def __init__(self, client: redis.Redis, run_id: str, name: str) -> None:
        self._r = client
        self._key = run_key(run_id, "source", name)

    def __getitem__(self, field: str) -> str:
        value: Any = self._r.hget(self._key, field)
        if value is None:
            raise KeyError(field)
        return value.decode() if isinstance(value, bytes) else str(value)

    def __setitem__(self, field: str, value: str) -> None:
        self._r.hset(self._key, field, value)

    def __delitem__(self, field: str) -> None:
        if not self._r.hdel(self._key, field):
            raise KeyError(field)

    def __iter__(self) -> Iterator[str]:
        fields: Any = self._r.hkeys(self._key)
        return iter([f.decode() if isinstance(f, bytes) else str(f) for f in fields])

    def __len__(self) -> int:
        return int(self._r.hlen(self._key))


def bind_sources(sources: Mapping[str, object], store_for: Any) -> None:
    """Give every bindable source its store (``store_for(name)``)."""
    for name, source in sources.items():
        if isinstance(source, Bindable):
            source.bind(store_for(name))

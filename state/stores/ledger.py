"""The action ledger in Redis: which side effects of a run started and finished, by key.

The intent is written before an action is called and the result after. A re-run node (after a
crash, or on resume after an approval) finds the result and does not call the action again; it
finds an intent without a result when the worker died mid-call, and then calls again only an
action declared ``retry_safe`` (its system dedups on the key), else asks a human.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from state.keys import run_key


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one action: the intent, and the result once it came back."""

    args: dict[str, Any]
    result: dict[str, Any] | None
    """None: the call was started and never reported back (the outcome is unknown)."""
    error: str = ""
    """The call raised this (its outcome is unknown too: it may have done something)."""


class ActionLedger(Protocol):
    """Remembers side effects by idempotency key: an intent before the call, the result after.

    A re-run node finds the result and does not call again; it finds an intent without a
    result when the process died mid-call, and must not guess what happened.
    """

    def entry(self, key: str) -> LedgerEntry | None:
        """What is recorded under ``key``, or None when the action was never started."""
        ...

    def begin(self, key: str, args: dict[str, Any]) -> None:
        """Record the intent to call ``key`` with ``args`` (before the call)."""
        ...

    def finish(self, key: str, result: dict[str, Any]) -> None:
        """Record the result of ``key`` (after the call)."""
        ...

    def fail(self, key: str, error: str) -> None:
        """Record that the call of ``key`` raised ``error`` (no result)."""
        ...


class MemoryLedger:
    """An in-process ledger, for local runs, replays and tests."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}

    def entry(self, key: str) -> LedgerEntry | None:
        """What is recorded under ``key``, or None when the action was never started."""
        return self._entries.get(key)

    def begin(self, key: str, args: dict[str, Any]) -> None:
        """Record the intent to call ``key`` with ``args`` (before the call)."""
        self._entries[key] = LedgerEntry(args, None)

    def finish(self, key: str, result: dict[str, Any]) -> None:
        """Record the result of ``key``, keeping the intent's arguments."""
        args = self._entries[key].args if key in self._entries else {}
        self._entries[key] = LedgerEntry(args, result)

    def fail(self, key: str, error: str) -> None:
        """Record that the call of ``key`` raised ``error``, keeping the intent's arguments."""
        args = self._entries[key].args if key in self._entries else {}
        self._entries[key] = LedgerEntry(args, None, error)


class RedisLedger:
    """``ActionLedger`` over one run's hash ``wb:{<run>}:actions`` (one JSON entry per key)."""

    def __init__(self, client: redis.Redis, run_id: str) -> None:
        self._r = client
        self._key = run_key(run_id, "actions")

    def entry(self, key: str) -> LedgerEntry | None:
        """What the run's hash holds under ``key``, or None when the action was never started."""
        raw = self._r.hget(self._key, key)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return LedgerEntry(dict(data.get("args") or {}), data.get("result"), data.get("error", ""))

    def begin(self, key: str, args: dict[str, Any]) -> None:
        """Write the intent (``result`` null) before the call; a later write replaces it."""
        self._put(key, {"args": args, "result": None})

    def finish(self, key: str, result: dict[str, Any]) -> None:
        """Write the result of ``key``, keeping the intent's arguments."""
        found = self.entry(key)
        self._put(key, {"args": found.args if found else {}, "result": result})

    def fail(self, key: str, error: str) -> None:
        """Write that the call of ``key`` raised ``error``: its outcome stays unknown."""
        found = self.entry(key)
        self._put(key, {"args": found.args if found else {}, "result": None, "error": error})

    def entries(self) -> dict[str, LedgerEntry]:
        """Every action of the run the ledger knows of, by key."""
        raw: dict[Any, Any] = self._r.hgetall(self._key)
        out = {}
        for key, value in raw.items():
            data = json.loads(value)
            name = key.decode() if isinstance(key, bytes) else str(key)
            out[name] = LedgerEntry(
                dict(data.get("args") or {}), data.get("result"), data.get("error", "")
            )
        return out

    def _put(self, key: str, entry: dict[str, Any]) -> None:
        self._r.hset(self._key, key, json.dumps(entry, allow_nan=False, default=str))

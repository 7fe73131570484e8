"""The action ledger in Redis: which side effects of a run started and finished, by key.

The intent is written before an action is called and the result after. A re-run node (after a
crash, or on resume after an approval) finds the result and does not call the action again; it
finds an intent without a result when the worker died mid-call, and then calls again only an
action declared ``retry_safe`` (its system dedups on the key), else asks a human.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from graph.context import LedgerEntry
from state.keys import run_key


class RedisLedger:
    """``ActionLedger`` over one run's hash ``wb:{<run>}:actions`` (one JSON entry per key)."""

    def __init__(self, client: redis.Redis, run_id: str) -> None:
        self._r = client
        self._key = run_key(run_id, "actions")

    def entry(self, key: str) -> LedgerEntry | None:
        raw = self._r.hget(self._key, key)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return LedgerEntry(dict(data.get("args") or {}), data.get("result"), data.get("error", ""))

    def begin(self, key: str, args: dict[str, Any]) -> None:
        self._put(key, {"args": args, "result": None})

    def finish(self, key: str, result: dict[str, Any]) -> None:
        found = self.entry(key)
        self._put(key, {"args": found.args if found else {}, "result": result})

    def fail(self, key: str, error: str) -> None:
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

"""The action ledger in Redis: which side effects of a run already happened, by idempotency key.

A re-run node (after a crash, or on resume after an approval) finds the recorded result and does
not call the action again. The one window left — a crash after the action ran and before its
result was recorded — is closed by the action itself: it receives the idempotency key and must
pass it to the system it calls (as payment and ordering APIs accept), so that system dedups.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from state.keys import run_key


class RedisLedger:
    """``ActionLedger`` over one run's hash ``wb:{<run>}:actions``."""

    def __init__(self, client: redis.Redis, run_id: str) -> None:
        self._r = client
        self._key = run_key(run_id, "actions")

    def recorded(self, key: str) -> dict[str, Any] | None:
        raw = self._r.hget(self._key, key)
        if raw is None:
            return None
        result: dict[str, Any] = json.loads(raw)
        return result

    def record(self, key: str, result: dict[str, Any]) -> None:
        self._r.hset(self._key, key, json.dumps(result, allow_nan=False, default=str))

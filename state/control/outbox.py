"""Intents recorded with a run's transition, completed right after (or by whoever comes next).

A transition of a run (submit, decide) is one Lua script on the run's own keys: it changes the
run and, in the same script, records what must follow outside the run's slot — the audit entry,
the job on the queue — as an intent in the run's outbox (``wb:{<run>}:outbox``). Whoever acted
completes the intents at once; if it dies first, the next process that touches the run (the
worker that executes it, a worker's sweeper) completes them. The audit entry of an intent is
appended once whatever the number of attempts (``AuditLog.append(intent=...)``).
"""

from __future__ import annotations

import uuid
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field

from state.control.connection import text
from state.keys import run_key

ADD_INTENT_LUA = """
local function add_intent(key, id, body)
  if id ~= '' then redis.call('HSET', key, id, body) end
end
"""
"""A Lua function ``add_intent(outbox_key, intent_id, intent_json)`` for per-run scripts."""


def outbox_key(run_id: str) -> str:
    """The hash of a run's pending intents."""
    return run_key(run_id, "outbox")


class Intent(BaseModel):
    """What must follow a transition: an audit entry, and whether the run must be queued."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    actor: str
    action: str
    target: str
    details: dict[str, Any] = Field(default_factory=dict)
    dispatch: bool = False
    """Hand the run to the queue (when it is still ``queued``)."""

    def args(self) -> list[str]:
        """``[id, json]`` for a script's ``add_intent``."""
        return [self.id, self.model_dump_json()]


class Outbox:
    """Read and clear a run's pending intents."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def pending(self, run_id: str) -> list[Intent]:
        """The run's intents not completed yet."""
        raw: dict[Any, Any] = self._r.hgetall(outbox_key(run_id))
        return [Intent.model_validate_json(text(v)) for _, v in sorted(raw.items())]

    def done(self, run_id: str, intent_id: str) -> None:
        """The intent is completed."""
        self._r.hdel(outbox_key(run_id), intent_id)

"""What a run was started with: its input payload and the fault to inject (if any).

Kept apart from the run record (which the console lists in pages) because an input can be
large; read once by the worker that executes the run.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from state.control.errors import UnknownRun
from state.keys import run_key


def inputs_key(run_id: str) -> str:
    """``wb:{<run>}:input``: a hash with ``request`` (JSON) and ``inject``."""
    return run_key(run_id, "input")


class RunInputs:
    """Store and read a run's input."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def put(self, run_id: str, request: dict[str, Any], inject: str | None) -> None:
        """Record the run's input (written once, before the run is queued)."""
        self._r.hset(
            inputs_key(run_id),
            mapping={"request": json.dumps(request, allow_nan=False), "inject": inject or ""},
        )

    def get(self, run_id: str) -> tuple[dict[str, Any], str | None]:
        """The run's input and injected fault; ``UnknownRun`` when none was recorded."""
        raw: dict[str, str] = self._r.hgetall(inputs_key(run_id))  # type: ignore[assignment]
        if not raw:
            raise UnknownRun(run_id)
        request: dict[str, Any] = json.loads(raw["request"])
        return request, raw.get("inject") or None

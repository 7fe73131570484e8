"""A run's trace context in Redis (``wb:{<run>}:trace``): its trace id, its root span's id,
the span of its last execution, and whether its root span was exported."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis

from state.control.connection import text
from state.keys import run_key


@dataclass(frozen=True)
class RunTraceIds:
    """The ids every span of a run hangs from."""

    trace_id: int
    root: int
    last_segment: int | None


class TraceStore:
    """Read and write runs' trace contexts (a client with ``decode_responses=True``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def ids(self, run_id: str) -> RunTraceIds:
        """The run's ids, chosen on first use (the first writer wins; others read them)."""
        key = run_key(run_id, "trace")
        pipe = self._r.pipeline(transaction=False)
        pipe.hsetnx(key, "trace_id", f"{secrets.randbits(128) or 1:032x}")
        pipe.hsetnx(key, "root", f"{secrets.randbits(64) or 1:016x}")
        pipe.hmget(key, ["trace_id", "root", "last_segment"])
        trace_id, root, last = pipe.execute()[-1]
        return RunTraceIds(
            int(text(trace_id), 16), int(text(root), 16), int(text(last), 16) if last else None
        )

    def set_last_segment(self, run_id: str, span_id: int) -> None:
        """Remember the span of the execution that runs now (the next one links to it)."""
        self._r.hset(run_key(run_id, "trace"), "last_segment", f"{span_id:016x}")

    def claim_root(self, run_id: str) -> bool:
        """True once per run: whoever gets it exports the run's root span."""
        return bool(self._r.hsetnx(run_key(run_id, "trace"), "root_exported", "1"))

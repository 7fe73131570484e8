"""Per-run event stream on Redis Streams (``wb:{<run>}:events``): the run's timeline.

Each entry has the fields ``kind``, ``stage``, ``data`` (JSON object) and ``ts`` (epoch
seconds). The console tails it; ``waybill show RUN`` prints it. Other control-plane scripts
(status changes, decisions) append to the same stream atomically with their write, using
``ADD_EVENT_LUA``, so the timeline never misses a transition.

Kinds written by ``state.control`` itself: ``status`` (data: ``from``, ``to``, ``reason``) and
``escalation_decided`` (data: ``escalation_id``, ``action``, ``user``). The runtime adds its own
(stage started, handoff, verdict, ...).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import redis

from state.clock import utcnow
from state.control.connection import text
from state.control.models import RunEvent, from_epoch, to_epoch
from state.keys import run_key

ADD_EVENT_LUA = """
local function add_event(key, maxlen, kind, stage, data, ts)
  if tonumber(maxlen) > 0 then
    return redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*',
      'kind', kind, 'stage', stage, 'data', data, 'ts', ts)
  end
  return redis.call('XADD', key, '*', 'kind', kind, 'stage', stage, 'data', data, 'ts', ts)
end
"""
"""A Lua function ``add_event(key, maxlen, kind, stage, data_json, ts)`` for per-run scripts."""


_APPEND_ONCE = (
    ADD_EVENT_LUA
    + """
-- KEYS: events, the run's set of event keys already appended.
-- ARGV: maxlen, event key, kind, stage, data, ts.
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
add_event(KEYS[1], ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 1
"""
)


def events_key(run_id: str) -> str:
    """The stream key of a run's events."""
    return run_key(run_id, "events")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump_data(data: dict[str, Any] | None) -> str:
    """An event's data as JSON; a non-finite float is written as text, never lost."""
    try:
        return json.dumps(data or {}, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(data or {}), allow_nan=False, default=str)


def parse_event(entry_id: str, fields: dict[str, str]) -> RunEvent:
    """A stream entry (its id and fields) as a ``RunEvent``; an entry whose data or time cannot
    be read is a ``damaged`` event saying why (one entry must not hide a run's timeline)."""
    kind, stage = fields.get("kind", ""), fields.get("stage") or None
    try:
        data = json.loads(fields.get("data") or "{}")
        ts = from_epoch(fields.get("ts") or 0)
    except (ValueError, OverflowError, OSError) as exc:
        problem = f"its {kind or 'unnamed'} event cannot be read ({type(exc).__name__})"
        return RunEvent(
            id=entry_id, kind="damaged", stage=stage, data={"problem": problem}, ts=_ts_of(entry_id)
        )
    return RunEvent(
        id=entry_id,
        kind=kind,
        stage=stage,
        data=data if isinstance(data, dict) else {"value": data},
        ts=ts,
    )


def _ts_of(entry_id: str) -> datetime:
    """When a stream entry was added, from its id (``<ms>-<seq>``)."""
    millis = entry_id.partition("-")[0]
    return from_epoch(int(millis) / 1000 if millis.isdigit() else 0)


class RunEvents:
    """Append to and read a run's event stream.

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
        maxlen: Approximate cap on entries per run (``0`` keeps everything); oldest are
            trimmed first.
    """

    def __init__(self, client: redis.Redis, *, maxlen: int = 0) -> None:
        self._r = client
        self.maxlen = maxlen
        self._append_once = client.register_script(_APPEND_ONCE)

    def append(
        self,
        run_id: str,
        kind: str,
        *,
        stage: str | None = None,
        data: dict[str, Any] | None = None,
        ts: datetime | None = None,
    ) -> str:
        """Append one event and return its stream id.

        ``data`` must be JSON-serializable. The run does not have to be registered (events may
        be written before ``RunRegistry.create`` in tests), but normally it is.
        """
        fields: dict[Any, Any] = {
            "kind": kind,
            "stage": stage or "",
            "data": dump_data(data),
            "ts": repr(to_epoch(ts or utcnow())),
        }
        if self.maxlen > 0:
            entry_id = self._r.xadd(
                events_key(run_id), fields, maxlen=self.maxlen, approximate=True
            )
        else:
            entry_id = self._r.xadd(events_key(run_id), fields)
        return text(entry_id)

    def append_once(
        self,
        run_id: str,
        key: str,
        kind: str,
        *,
        stage: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> bool:
        """Append one event unless an event with ``key`` was appended before (one round trip).

        For events that may be written twice: as a node runs, and again when a resumed run
        re-derives the events a crash kept from being written. Returns whether it was appended.
        """
        args = [
            str(self.maxlen),
            key,
            kind,
            stage or "",
            dump_data(data),
            repr(to_epoch(utcnow())),
        ]
        keys = [events_key(run_id), run_key(run_id, "evented")]
        return bool(self._append_once(keys=keys, args=args))

    def appended(self, run_id: str, key: str) -> bool:
        """Whether an event with ``key`` was appended by :meth:`append_once`."""
        return bool(self._r.sismember(run_key(run_id, "evented"), key))

    def read(self, run_id: str, *, after: str = "0-0", count: int = 100) -> list[RunEvent]:
        """Events strictly after stream id ``after`` (``"0-0"``: from the start), oldest first."""
        entries: Any = self._r.xrange(events_key(run_id), min=f"({after}", max="+", count=count)
        return [parse_event(text(eid), fields) for eid, fields in entries]

    def tail(
        self, run_id: str, *, after: str = "$", timeout: float = 5.0, count: int = 100
    ) -> list[RunEvent]:
        """Block up to ``timeout`` seconds for events after ``after``; ``[]`` on timeout.

        Pass the ``id`` of the last event seen to follow a run without gaps; ``"$"`` means only
        events appended after the call starts. ``timeout`` must be shorter than the client's
        socket timeout.
        """
        reply: Any = self._r.xread(
            {events_key(run_id): after}, count=count, block=max(1, int(timeout * 1000))
        )
        if not reply:
            return []
        streams = reply.items() if isinstance(reply, dict) else ((s[0], s[1]) for s in reply)
        return [
            parse_event(text(eid), fields) for _key, entries in streams for eid, fields in entries
        ]

    def count(self, run_id: str) -> int:
        """Number of events kept for the run."""
        return int(self._r.xlen(events_key(run_id)))

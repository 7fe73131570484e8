"""A run's stores while one process executes it: read from Redis once, written on the way.

While a worker holds a run's lease, nothing else writes the run's tape, ledger or sources'
state, so the executing process reads each hash once (all of them in one round trip) and keeps
a copy. A write changes the copy and is sent at once on the checkpointer's connection without
waiting for the reply: Redis applies it before the next checkpoint of the run, which comes
after it on the same connection, and that checkpoint's round trip reads its reply. So a
checkpoint that is saved never lacks a write made before it, and a write costs no round trip.

One write does wait: the intent of an action (``MirroredLedger.begin``), which must be in Redis
before the action is called.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

from state.checkpoint.calls import Call
from state.checkpoint.wire import Wire
from state.keys import run_key
from state.stores.ledger import LedgerEntry


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def fields_of(reply: Any) -> dict[str, str]:
    """An ``HGETALL`` reply (bytes or text) as a text dict."""
    return {_text(k): _text(v) for k, v in dict(reply or {}).items()}


class MirroredHash(MutableMapping[str, str]):
    """One hash of a run, read once (``fields``) and written through the wire.

    It is a ``MutableMapping`` (a source's run store) and a ``TapeStore`` (``get``/``put``).
    """

    def __init__(self, wire: Wire, key: str, fields: dict[str, str]) -> None:
        self.wire = wire
        self.key = key
        self._fields = dict(fields)

    def __getitem__(self, field: str) -> str:
        return self._fields[field]

    def __setitem__(self, field: str, value: str) -> None:
        self._fields[field] = value
        self.wire.send([Call(("HSET", self.key, field, value))], wait=False)

    def __delitem__(self, field: str) -> None:
        del self._fields[field]
        self.wire.send([Call(("HDEL", self.key, field))], wait=False)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._fields))

    def __len__(self) -> int:
        return len(self._fields)

    def put(self, key: str, value: str) -> None:
        """Record ``value`` under ``key`` (``TapeStore``)."""
        self[key] = value


class MirroredLedger:
    """``ActionLedger`` over the run's ``wb:{<run>}:actions`` hash, read once.

    The intent is written and acknowledged before ``begin`` returns (the action is called
    next); a result or an error rides on the next round trip.
    """

    def __init__(self, wire: Wire, run_id: str, fields: dict[str, str]) -> None:
        self.wire = wire
        self.key = run_key(run_id, "actions")
        self._entries = {k: json.loads(v) for k, v in fields.items()}

    def entry(self, key: str) -> LedgerEntry | None:
        """What the run's ledger holds under ``key``, or None when it was never started."""
        data = self._entries.get(key)
        if data is None:
            return None
        return LedgerEntry(dict(data.get("args") or {}), data.get("result"), data.get("error", ""))

    def begin(self, key: str, args: dict[str, Any]) -> None:
        """Write the intent (``result`` null) and wait until Redis has it."""
        self._put(key, {"args": args, "result": None}, wait=True)

    def finish(self, key: str, result: dict[str, Any]) -> None:
        """Write the result of ``key``, keeping the intent's arguments."""
        found = self.entry(key)
        self._put(key, {"args": found.args if found else {}, "result": result}, wait=False)

    def fail(self, key: str, error: str) -> None:
        """Write that the call of ``key`` raised ``error``: its outcome stays unknown."""
        found = self.entry(key)
        entry = {"args": found.args if found else {}, "result": None, "error": error}
        self._put(key, entry, wait=False)

    def _put(self, key: str, entry: dict[str, Any], *, wait: bool) -> None:
        text = json.dumps(entry, allow_nan=False, default=str)
        self._entries[key] = json.loads(text)
        self.wire.send([Call(("HSET", self.key, key, text))], wait=wait)

"""Retention: a finished run is deleted once its retention time is over; the audit log stays.

When a run reaches a terminal status, the registry adds it to ``wb:idx:expiry`` (a sorted set
scored by the time its retention ends, ``WAYBILL_RUN_RETENTION_S``). Workers' sweepers read only
the entries that fell due and purge each run: one script deletes every key of the run (record,
input, outbox, events, tape, ledger, sources' state, escalations, lease, checkpoints and their
writes), then the global indexes forget it (the run listings, the escalation indexes, the
checkpointer's index of LangGraph runs). ``waybill prune`` does the same on demand.

The audit log is a separate, global chain: it names runs but holds nothing of theirs, so it
still verifies after they are gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from state.checkpoint.layout import run_index_key
from state.control import run_index
from state.control.connection import text, texts
from state.control.run_index import EXPIRY_KEY, expiry_member
from state.control.run_updates import run_hash_key
from state.keys import global_key, run_tag
from state.status import TERMINAL_STATUSES

_PENDING = global_key("idx", "escalations", "pending")
_RUN_OF = global_key("idx", "escalations", "run")

_PURGE = """
-- KEYS: the run's hash. ARGV: the run's key prefix ('wb:{<run>}:'), terminal statuses,
-- 'force' to purge a run that is not finished.
local status = redis.call('HGET', KEYS[1], 'status') or ''
if ARGV[3] ~= 'force' and status ~= '' and
    not string.find(' ' .. ARGV[2] .. ' ', ' ' .. status .. ' ', 1, true) then
  return {'live', status}
end
local p = ARGV[1]
local escs = redis.call('ZRANGE', p .. 'escs', 0, -1)
for _, id in ipairs(escs) do redis.call('DEL', p .. 'esc:' .. id) end
for _, key in ipairs(redis.call('SMEMBERS', p .. 'stores')) do redis.call('DEL', key) end
for _, base in ipairs(redis.call('HVALS', p .. 'ck:ns')) do
  redis.call('DEL', base .. ':idx', base .. ':rec', base .. ':bl', base .. ':w')
end
local runs = redis.call('SMEMBERS', p .. 'ck:runs')
for _, name in ipairs({'run', 'input', 'outbox', 'events', 'evented', 'tape', 'actions',
    'lease', 'fence', 'attempts', 'escs', 'stores', 'ck:ns', 'ck:runs'}) do
  redis.call('DEL', p .. name)
end
return {'gone', status, escs, runs}
"""


@dataclass(frozen=True)
class Purged:
    """A run purged: its id and workflow, and the status it had."""

    run_id: str
    workflow: str
    status: str


class Retention:
    """Purge finished runs whose retention is over (or now, on demand)."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client
        self._purge = client.register_script(_PURGE)

    def due(self, now: float | None = None, *, limit: int = 100) -> list[tuple[str, str]]:
        """``(run, workflow)`` of the runs whose retention is over, oldest first (one round
        trip, whatever the number of runs kept)."""
        at = time.time() if now is None else now
        members = texts(self._r.zrangebyscore(EXPIRY_KEY, "-inf", at, start=0, num=limit))
        return [(str(run), str(workflow)) for run, workflow in map(json.loads, members)]

    def purge(self, run_id: str, workflow: str, *, force: bool = False) -> Purged | None:
        """Delete every key of a run and forget it in the indexes; ``None`` (and nothing
        deleted) when the run is not finished, unless ``force``."""
        terminal = " ".join(sorted(TERMINAL_STATUSES))
        args = [run_tag(run_id) + ":", terminal, "force" if force else ""]
        outcome, status, *rest = self._purge(keys=[run_hash_key(run_id)], args=args)
        member = expiry_member(run_id, workflow)
        if text(outcome) == "live":
            self._r.zrem(EXPIRY_KEY, member)
            return None
        escs, runs = texts(rest[0]), texts(rest[1])
        pipe = self._r.pipeline(transaction=False)
        run_index.apply(pipe, run_index.removing(run_id, workflow))
        for esc_id in escs:
            pipe.hdel(_RUN_OF, esc_id)
            pipe.zrem(_PENDING, esc_id)
        for lg_run in runs:  # the checkpointer's index of LangGraph runs (see its layout)
            pipe.srem(run_index_key(lg_run), run_id)
        pipe.zrem(EXPIRY_KEY, member)
        pipe.execute()
        return Purged(run_id, workflow, text(status))

    def purge_due(self, now: float | None = None, *, limit: int = 100) -> list[Purged]:
        """Purge the runs whose retention is over (at most ``limit`` of them)."""
        done = [self.purge(run_id, workflow) for run_id, workflow in self.due(now, limit=limit)]
        return [p for p in done if p is not None]

    def finished_before(self, cutoff: float, *, page: int = 500) -> Iterator[tuple[str, str]]:
        """``(run, workflow)`` of every finished run whose last change is older than epoch
        ``cutoff`` (read a page at a time from the status listings; for ``waybill prune``).
        Take them all before purging any: purging moves the pages."""
        for status in sorted(TERMINAL_STATUSES):
            index, offset = run_index.index_key(status=status), 0
            while True:
                ids = texts(self._r.zrangebyscore(index, "-inf", cutoff, start=offset, num=page))
                if not ids:
                    break
                offset += len(ids)
                pipe = self._r.pipeline(transaction=False)
                for run_id in ids:
                    pipe.hmget(run_hash_key(run_id), ["workflow", "updated_at"])
                for run_id, (workflow, updated) in zip(ids, pipe.execute(), strict=True):
                    if workflow is not None and float(updated or 0) <= cutoff:
                        yield run_id, text(workflow)

    def scheduled(self) -> int:
        """How many finished runs wait for their retention to end."""
        return int(self._r.zcard(EXPIRY_KEY))

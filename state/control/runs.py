"""Run registry: one hash per run (``wb:{<run>}:run``) plus sorted-set indexes for the console.

The run hash is the truth. Status changes go through one Lua script on the run's own keys: it
checks the fencing token (when given), refuses a change from a terminal status, validates the
transition against ``models.TRANSITIONS``, writes the hash and appends a ``status`` event to the
run's stream, all atomically. The global indexes (sorted sets scored by creation time, so
listings are newest first) are updated right after, in a separate pipeline: a script may not
touch keys of two slots. Under concurrent status writers of one run an index can lag the hash;
``reindex`` repairs a run's entries from its hash, and ``list`` always returns what the hashes
say.

Index keys: ``wb:idx:runs`` (all), ``wb:idx:runs:status:<s>``, ``wb:idx:runs:workflow:<w>``,
``wb:idx:runs:workflow:<w>:status:<s>``; ``wb:idx:workflows`` is the set of workflow names.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime

import redis

from state.control.connection import text
from state.control.errors import (
    InvalidTransition,
    LeaseLost,
    RunExists,
    RunFinished,
    UnknownRun,
)
from state.control.events import ADD_EVENT_LUA, events_key
from state.control.models import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    RunPage,
    RunRecord,
    RunStatus,
    from_epoch,
    to_epoch,
    utcnow,
)
from state.keys import fence_key, global_key, run_key

_CREATE = (
    ADD_EVENT_LUA
    + """
-- KEYS: run hash, events. ARGV: maxlen, ts, status-event data, then field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
add_event(KEYS[2], ARGV[1], 'status', '', ARGV[3], ARGV[2])
return 1
"""
)

_UPDATE = (
    ADD_EVENT_LUA
    + """
-- KEYS: run hash, fence, events.
-- ARGV: token ('' = unfenced), new status ('' = unchanged), allowed-from (space separated),
--       terminal statuses (space separated), updated_at, maxlen, then field/value pairs.
if ARGV[1] ~= '' then
  local current = redis.call('GET', KEYS[2])
  if current ~= ARGV[1] then return {'fenced', current or ''} end
end
local old = redis.call('HGET', KEYS[1], 'status')
if not old then return {'unknown'} end
if string.find(' ' .. ARGV[4] .. ' ', ' ' .. old .. ' ', 1, true) then
  return {'finished', old}
end
local new = ARGV[2]
if new ~= '' and not string.find(' ' .. ARGV[3] .. ' ', ' ' .. old .. ' ', 1, true) then
  return {'transition', old}
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if new ~= '' and new ~= old then
  redis.call('HSET', KEYS[1], 'status', new)
  local data = cjson.encode({['from'] = old, ['to'] = new,
    ['reason'] = redis.call('HGET', KEYS[1], 'reason') or ''})
  add_event(KEYS[3], ARGV[6], 'status', redis.call('HGET', KEYS[1], 'stage') or '', data,
    ARGV[5])
end
return {'ok', old, redis.call('HGET', KEYS[1], 'workflow'), redis.call('HGET', KEYS[1],
  'created_at')}
"""
)

_FIELDS = ("stage", "worker", "reason")


def run_hash_key(run_id: str) -> str:
    """The hash holding a run's record (read by the escalation script for the status)."""
    return run_key(run_id, "run")


def _index(workflow: str | None = None, status: str | None = None) -> str:
    parts = ["idx", "runs"]
    if workflow is not None:
        parts += ["workflow", workflow]
    if status is not None:
        parts += ["status", status]
    return global_key(*parts)


def _record(fields: dict[str, str]) -> RunRecord:
    return RunRecord(
        run_id=fields["run_id"],
        workflow=fields["workflow"],
        status=fields["status"],
        input_summary=fields.get("input_summary", ""),
        stage=fields.get("stage") or None,
        worker=fields.get("worker") or None,
        reason=fields.get("reason") or None,
        user=fields.get("user") or None,
        created_at=from_epoch(fields["created_at"]),
        updated_at=from_epoch(fields["updated_at"]),
    )


class RunRegistry:
    """Create, read, update and list runs.

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
        events_maxlen: Cap passed to the event stream for ``status`` events (``0``: none).
    """

    def __init__(self, client: redis.Redis, *, events_maxlen: int = 0) -> None:
        self._r = client
        self._maxlen = str(events_maxlen)
        self._create = client.register_script(_CREATE)
        self._update = client.register_script(_UPDATE)

    def create(
        self,
        run_id: str,
        workflow: str,
        *,
        input_summary: str = "",
        user: str | None = None,
        created_at: datetime | None = None,
    ) -> RunRecord:
        """Register a new run with status ``queued``.

        Raises:
            RunExists: A run with this id is already registered.
        """
        ts = repr(to_epoch(created_at or utcnow()))
        mapping = {
            "run_id": run_id,
            "workflow": workflow,
            "status": "queued",
            "input_summary": input_summary,
            "created_at": ts,
            "updated_at": ts,
        }
        if user:
            mapping["user"] = user
        args: list[str] = [self._maxlen, ts, json.dumps({"from": "", "to": "queued"})]
        for key, value in mapping.items():
            args += [key, value]
        created = self._create(keys=[run_hash_key(run_id), events_key(run_id)], args=args)
        if not int(created):
            raise RunExists(f"run {run_id!r} already exists")
        score = float(ts)
        pipe = self._r.pipeline(transaction=False)
        pipe.zadd(_index(), {run_id: score})
        pipe.zadd(_index(status="queued"), {run_id: score})
        pipe.zadd(_index(workflow=workflow), {run_id: score})
        pipe.zadd(_index(workflow=workflow, status="queued"), {run_id: score})
        pipe.sadd(global_key("idx", "workflows"), workflow)
        pipe.execute()
        return _record(mapping)

    def get(self, run_id: str) -> RunRecord:
        """The run's record.

        Raises:
            UnknownRun: No run with this id.
        """
        fields = self._r.hgetall(run_hash_key(run_id))
        if not fields:
            raise UnknownRun(run_id)
        return _record({text(k): text(v) for k, v in fields.items()})

    def update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        stage: str | None = None,
        worker: str | None = None,
        reason: str | None = None,
        fence: int | None = None,
    ) -> RunRecord:
        """Change a run's status and/or its stage, worker or reason (``None``: unchanged).

        A worker passes its lease token as ``fence``: the write happens only if that token is
        still the run's current one. An empty string clears a text field.

        Raises:
            UnknownRun: No run with this id.
            RunFinished: The run's status is terminal; nothing about it changes any more.
            InvalidTransition: ``models.TRANSITIONS`` does not allow the status change.
            LeaseLost: ``fence`` is not the current token.
        """
        now = repr(to_epoch(utcnow()))
        allowed_from = [s for s in RUN_STATUSES if status is not None and status in TRANSITIONS[s]]
        args = [
            "" if fence is None else str(fence),
            status or "",
            " ".join(allowed_from),
            " ".join(sorted(TERMINAL_STATUSES)),
            now,
            self._maxlen,
        ]
        for name, value in zip(_FIELDS, (stage, worker, reason), strict=True):
            if value is not None:
                args += [name, value]
        reply = self._update(
            keys=[run_hash_key(run_id), fence_key(run_id), events_key(run_id)], args=args
        )
        outcome, *rest = [text(x) for x in reply]
        if outcome == "unknown":
            raise UnknownRun(run_id)
        if outcome == "fenced":
            raise LeaseLost(run_id, fence or 0, int(rest[0]) if rest[0] else None)
        if outcome == "finished":
            raise RunFinished(run_id, rest[0])
        if outcome == "transition":
            raise InvalidTransition(f"run {run_id!r}: status {rest[0]} cannot become {status}")
        old, workflow, created_at = rest
        if status is not None and status != old:
            self._move(run_id, workflow, float(created_at), old, status)
        return self.get(run_id)

    def _move(self, run_id: str, workflow: str, score: float, old: str, new: str) -> None:
        pipe = self._r.pipeline(transaction=False)
        pipe.zrem(_index(status=old), run_id)
        pipe.zrem(_index(workflow=workflow, status=old), run_id)
        pipe.zadd(_index(status=new), {run_id: score})
        pipe.zadd(_index(workflow=workflow, status=new), {run_id: score})
        pipe.execute()

    def reindex(self, run_id: str) -> None:
        """Make the run's index entries agree with its hash (repair after a lagging update)."""
        run = self.get(run_id)
        score = to_epoch(run.created_at)
        pipe = self._r.pipeline(transaction=False)
        for status in RUN_STATUSES:
            if status != run.status:
                pipe.zrem(_index(status=status), run_id)
                pipe.zrem(_index(workflow=run.workflow, status=status), run_id)
        for key in (
            _index(),
            _index(status=run.status),
            _index(workflow=run.workflow),
            _index(workflow=run.workflow, status=run.status),
        ):
            pipe.zadd(key, {run_id: score})
        pipe.execute()

    def list(
        self,
        *,
        status: RunStatus | None = None,
        workflow: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> RunPage:
        """One page of runs, newest first, filtered by status and/or workflow.

        Two round trips whatever the number of runs: the index page with its total, then one
        pipeline of ``HGETALL`` for the page. Runs with equal creation times are ordered by id,
        descending.
        """
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must be >= 0")
        index = _index(workflow=workflow, status=status)
        pipe = self._r.pipeline(transaction=False)
        pipe.zcard(index)
        pipe.zrevrange(index, offset, offset + limit - 1)
        total, ids = pipe.execute() if limit else (self._r.zcard(index), [])
        pipe = self._r.pipeline(transaction=False)
        for run_id in ids:
            pipe.hgetall(run_hash_key(text(run_id)))
        items = [
            _record({text(k): text(v) for k, v in fields.items()})
            for fields in (pipe.execute() if ids else [])
            if fields
        ]
        return RunPage(items=items, total=int(total), offset=offset, limit=limit)

    def counts(self, *, workflow: str | None = None) -> dict[RunStatus, int]:
        """Number of runs per status (every status present, zeros included), one round trip."""
        pipe = self._r.pipeline(transaction=False)
        for status in RUN_STATUSES:
            pipe.zcard(_index(workflow=workflow, status=status))
        return dict(zip(RUN_STATUSES, (int(n) for n in pipe.execute()), strict=True))

    def workflows(self) -> builtins.list[str]:
        """Names of every workflow that has had a run, sorted."""
        return sorted(text(w) for w in self._r.smembers(global_key("idx", "workflows")))

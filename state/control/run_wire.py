"""The control-plane writes of a run a worker executes, as calls on the checkpointer's wire.

Starting an execution (the lease, the status ``running``, the count of starts from the run's
latest checkpoint) is one script. What the run writes as it goes — the stage it is at, the
event of each node — is sent without waiting and rides on the next checkpoint's round trip, in
order with it; a refused write (a stale fencing token) raises at that round trip. Every script
touches one run's keys (its hash tag); the global indexes follow as plain commands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from state.checkpoint.calls import Call, Scripts
from state.control.connection import text, texts
from state.control.errors import InvalidTransition, LeaseHeld, LeaseLost, UnknownRun
from state.control.events import ADD_EVENT_LUA, events_key
from state.control.inputs import inputs_key
from state.control.leases import lease_key
from state.control.models import RunRecord
from state.control.outbox import outbox_key
from state.control.run_index import stores_key
from state.control.run_records import record_of
from state.control.run_scripts import UPDATE_RUN
from state.control.run_updates import Update, outcome_of, run_hash_key
from state.keys import fence_key, run_key
from state.status import TERMINAL_STATUSES, TRANSITIONS

_BEGIN = (
    ADD_EVENT_LUA
    + """
-- KEYS: lease, fence, run hash, events, attempts, the run's checkpoint index (root namespace),
--       input, outbox, tape, ledger, the set of the run's other hashes (sources' state).
-- ARGV: holder, ttl_ms, terminal statuses, statuses that may become running, now, maxlen.
local old = redis.call('HGET', KEYS[3], 'status')
if not old then return {'unknown'} end
if string.find(' ' .. ARGV[3] .. ' ', ' ' .. old .. ' ', 1, true) then
  return {'finished', old, redis.call('HLEN', KEYS[8])}
end
if old == 'held' then return {'finished', old, 0} end -- parked by a hold: its release queues it
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= ARGV[1] then return {'held', holder, redis.call('PTTL', KEYS[1])} end
if not string.find(' ' .. ARGV[4] .. ' ', ' ' .. old .. ' ', 1, true) then
  return {'transition', old}
end
local token = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], 'updated_at', ARGV[5], 'worker', ARGV[1])
if old ~= 'running' then
  redis.call('HSET', KEYS[3], 'status', 'running')
  local data = cjson.encode({['from'] = old, ['to'] = 'running',
    ['reason'] = redis.call('HGET', KEYS[3], 'reason') or ''})
  add_event(KEYS[4], ARGV[6], 'status', redis.call('HGET', KEYS[3], 'stage') or '', data,
    ARGV[5])
end
local at = redis.call('ZREVRANGEBYLEX', KEYS[6], '+', '-', 'LIMIT', 0, 1)[1] or 'start'
local attempt = redis.call('HINCRBY', KEYS[5], at, 1)
redis.call('EXPIRE', KEYS[5], 604800)
local hashes = {KEYS[7], redis.call('HGETALL', KEYS[7]), KEYS[9], redis.call('HGETALL', KEYS[9]),
  KEYS[10], redis.call('HGETALL', KEYS[10])}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[11])) do
  table.insert(hashes, key)
  table.insert(hashes, redis.call('HGETALL', key))
end
return {'ok', token, old, attempt, at, redis.call('HGETALL', KEYS[3]),
  redis.call('HLEN', KEYS[8]), hashes}
"""
)

_STAGE = """
-- KEYS: run hash, fence. ARGV: token, stage, now.
local current = redis.call('GET', KEYS[2])
if current ~= ARGV[1] then return {'fenced', current or ''} end
redis.call('HSET', KEYS[1], 'stage', ARGV[2], 'updated_at', ARGV[3])
return {'ok'}
"""

_EVENT = (
    ADD_EVENT_LUA
    + """
-- KEYS: events, the run's set of event keys already appended, fence.
-- ARGV: token, maxlen, event key, kind, stage, data, ts.
local current = redis.call('GET', KEYS[3])
if current ~= ARGV[1] then return {'fenced', current or ''} end
if redis.call('SADD', KEYS[2], ARGV[3]) == 0 then return {'ok', 0} end
add_event(KEYS[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return {'ok', 1}
"""
)

_RELEASE = """
-- KEYS: lease, fence, attempts. ARGV: token, the attempt's field ('' = keep it).
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[3], ARGV[2]) end
return 1
"""

SCRIPTS = Scripts(
    {
        "run_begin": _BEGIN,
        "run_update": UPDATE_RUN,
        "run_stage": _STAGE,
        "run_event": _EVENT,
        "run_release": _RELEASE,
    }
)
_RUNNABLE = " ".join(s for s, allowed in TRANSITIONS.items() if "running" in allowed)
_TERMINAL = " ".join(sorted(TERMINAL_STATUSES))


def attempts_key(run_id: str) -> str:
    """The hash counting a run's starts by checkpoint id (``start`` before the first one)."""
    return run_key(run_id, "attempts")


@dataclass(frozen=True)
class Begun:
    """What an execution found as it took the run (or found it finished)."""

    token: int
    """Its fencing token (0: the run was finished, nothing was taken)."""
    old: str
    """The status it found."""
    intents: int
    """Intents the run's last transition left in its outbox (complete them)."""
    attempt: int = 0
    """Starts from the same checkpoint not ended cleanly since, this one included."""
    at: str = "start"
    """The checkpoint id it started from (``start``: the run has no checkpoint yet)."""
    record: RunRecord | None = None
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    """The run's input, tape, ledger and sources' state, by key."""


def _hashes(flat: list[Any]) -> dict[str, dict[str, str]]:
    out = {}
    for i in range(0, len(flat), 2):
        pairs = texts(flat[i + 1])
        out[text(flat[i])] = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return out


def _begun(run_id: str, reply: Any) -> Begun:
    outcome, *rest = reply
    outcome = text(outcome)
    if outcome == "held":
        raise LeaseHeld(run_id, text(rest[0]), int(rest[1]))
    if outcome == "unknown":
        raise UnknownRun(run_id)
    if outcome == "finished":
        return Begun(0, text(rest[0]), int(rest[1]))
    if outcome == "transition":
        raise InvalidTransition(f"run {run_id!r}: status {text(rest[0])} cannot run")
    token, old, attempt, at, fields, intents, hashes = rest
    flat = texts(fields)
    record = record_of(dict(zip(flat[::2], flat[1::2], strict=True)))
    return Begun(
        int(token), text(old), int(intents), int(attempt), text(at), record, _hashes(hashes)
    )


def begin_call(run_id: str, holder: str, ttl_ms: int, now: float, index_key: str) -> Call:
    """Take the run's lease, mark it ``running``, count this start and read what the run needs
    (input, tape, ledger, sources' state): one script. The check returns a :class:`Begun` (also,
    with token 0, for a finished run and for one a hold parked: the job of a queued run held
    at once starts nothing; the release queues the run again) or raises ``LeaseHeld``,
    ``UnknownRun`` or ``InvalidTransition``."""
    keys = [lease_key(run_id), fence_key(run_id), run_hash_key(run_id), events_key(run_id)]
    keys += [attempts_key(run_id), index_key, inputs_key(run_id), outbox_key(run_id)]
    keys += [run_key(run_id, "tape"), run_key(run_id, "actions"), stores_key(run_id)]
    args = [holder, str(ttl_ms), _TERMINAL, _RUNNABLE, repr(now), "0"]
    return Call(SCRIPTS.evalsha("run_begin", keys, args), lambda reply: _begun(run_id, reply))


def update_call(update: Update) -> Call:
    """The registry's update script for ``update``; the check returns its ``Updated`` or
    raises the update's refusal."""
    return Call(
        SCRIPTS.evalsha("run_update", update.keys, update.args),
        lambda reply: outcome_of(update, reply),
    )


def _fenced(run_id: str, token: int) -> Any:
    def check(reply: Any) -> Any:
        if text(reply[0]) == "fenced":
            current = text(reply[1])
            raise LeaseLost(run_id, token, int(current) if current else None)
        return reply

    return check


def stage_call(run_id: str, stage: str, token: int, now: float) -> Call:
    """Record the stage the run is at (fenced by ``token``)."""
    keys = [run_hash_key(run_id), fence_key(run_id)]
    return Call(
        SCRIPTS.evalsha("run_stage", keys, [str(token), stage, repr(now)]), _fenced(run_id, token)
    )


def event_call(
    run_id: str, key: str, stage: str, data: dict[str, Any], token: int, now: float
) -> Call:
    """Append a ``node`` event once per ``key`` (fenced by ``token``)."""
    keys = [events_key(run_id), run_key(run_id, "evented"), fence_key(run_id)]
    body = json.dumps(data, allow_nan=False, default=str)
    args = [str(token), "0", key, "node", stage, body, repr(now)]
    return Call(SCRIPTS.evalsha("run_event", keys, args), _fenced(run_id, token))


def release_call(run_id: str, token: int, attempt_at: str) -> Call:
    """Give the lease up; ``attempt_at`` (the start's checkpoint) is forgotten: the execution
    ended on its own, so it does not count towards a poison run."""
    keys = [lease_key(run_id), fence_key(run_id), attempts_key(run_id)]
    return Call(SCRIPTS.evalsha("run_release", keys, [str(token), attempt_at]))

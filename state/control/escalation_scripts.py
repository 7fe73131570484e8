"""The escalations' Lua scripts: each touches one run's keys only (its hash tag)."""

from __future__ import annotations

from state.control.events import ADD_EVENT_LUA
from state.control.outbox import ADD_INTENT_LUA

CREATE_ESCALATION = (
    ADD_EVENT_LUA
    + """
-- KEYS: escalation, run's escalation index, run record, events.
-- ARGV: terminal statuses, maxlen, id, created_at, event data, then field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local status = redis.call('HGET', KEYS[3], 'status')
if not status then return {'norun'} end
if string.find(' ' .. ARGV[1] .. ' ', ' ' .. status .. ' ', 1, true) then
  return {'finished', status}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
add_event(KEYS[4], ARGV[2], 'escalation_created', redis.call('HGET', KEYS[1], 'stage') or '',
  ARGV[5], ARGV[4])
return {'ok'}
"""
)

DECIDE_ESCALATION = (
    ADD_EVENT_LUA
    + ADD_INTENT_LUA
    + """
-- KEYS: escalation, run record, events, outbox.
-- ARGV: terminal statuses, maxlen, action, user, comment, edited json, decided_at, event data,
--       intent id ('' = none), intent json.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
local decided_by = redis.call('HGET', KEYS[1], 'decided_by')
if decided_by then
  return {'conflict', decided_by, redis.call('HGET', KEYS[1], 'action'),
    redis.call('HGET', KEYS[1], 'decided_at')}
end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return {'norun'} end
if string.find(' ' .. ARGV[1] .. ' ', ' ' .. status .. ' ', 1, true) then
  return {'finished', status}
end
redis.call('HSET', KEYS[1], 'action', ARGV[3], 'decided_by', ARGV[4], 'comment', ARGV[5],
  'edited', ARGV[6], 'decided_at', ARGV[7])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
local stage = redis.call('HGET', KEYS[1], 'stage') or ''
add_event(KEYS[3], ARGV[2], 'escalation_decided', stage, ARGV[8], ARGV[7])
add_intent(KEYS[4], ARGV[9], ARGV[10])
-- The run waits for this decision: it is queued to resume in the same step, so a decided
-- escalation never leaves its run waiting.
if status == 'waiting' and ARGV[9] ~= '' then
  redis.call('HSET', KEYS[2], 'status', 'queued', 'updated_at', ARGV[7])
  add_event(KEYS[3], ARGV[2], 'status', stage,
    cjson.encode({['from'] = 'waiting', ['to'] = 'queued', ['reason'] = ''}), ARGV[7])
end
return {'ok', tostring(version)}
"""
)

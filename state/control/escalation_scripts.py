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
-- KEYS: escalation, run record, events, outbox, approvals.
-- ARGV: terminal statuses, maxlen, action, user, comment, edited json, decided_at, event data,
--       intent id ('' = none), intent json, partial intent id, partial intent json,
--       group the decider was checked against ('' = not checked), approval json.
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
local group = redis.call('HGET', KEYS[1], 'group') or ''
if ARGV[13] ~= '' and group ~= ARGV[13] then return {'moved', group} end
local stage = redis.call('HGET', KEYS[1], 'stage') or ''
local quorum = tonumber(redis.call('HGET', KEYS[1], 'quorum') or '1') or 1
if ARGV[3] == 'approve' and quorum > 1 then
  -- M of N: each approval is counted once per user; the Mth one decides.
  if redis.call('HEXISTS', KEYS[5], ARGV[4]) == 1 then
    return {'duplicate', tostring(redis.call('HLEN', KEYS[5])), tostring(quorum)}
  end
  -- The approval's JSON gets its place in line ("n"), as this script decided it.
  local count = redis.call('HLEN', KEYS[5]) + 1
  redis.call('HSET', KEYS[5], ARGV[4], '{"n":' .. count .. ',' .. string.sub(ARGV[14], 2))
  if count < quorum then
    redis.call('HINCRBY', KEYS[1], 'version', 1)
    add_event(KEYS[3], ARGV[2], 'approval_recorded', stage, ARGV[8], ARGV[7])
    add_intent(KEYS[4], ARGV[11], ARGV[12])
    return {'partial', tostring(count), tostring(quorum)}
  end
end
redis.call('HSET', KEYS[1], 'action', ARGV[3], 'decided_by', ARGV[4], 'comment', ARGV[5],
  'edited', ARGV[6], 'decided_at', ARGV[7])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
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

_OPEN_IN_ROUND = """
-- Shared by the deadline scripts. KEYS[1] escalation, KEYS[2] run record.
local function open_in_round(terminal, round)
  if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
  if redis.call('HGET', KEYS[1], 'decided_by') then return 'decided' end
  local status = redis.call('HGET', KEYS[2], 'status')
  if not status or string.find(' ' .. terminal .. ' ', ' ' .. status .. ' ', 1, true) then
    return 'finished'
  end
  if (redis.call('HGET', KEYS[1], 'round') or '') ~= round then return 'stale' end
  if redis.call('HGET', KEYS[1], 'held_at') then return 'held' end
  return 'open'
end
"""

MARK_REMINDED = (
    _OPEN_IN_ROUND
    + """
-- KEYS: escalation, run record. ARGV: terminal statuses, round.
-- 1 when this call is the one that sends the round's reminder.
if open_in_round(ARGV[1], ARGV[2]) ~= 'open' then return 0 end
if redis.call('HGET', KEYS[1], 'reminded') == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'reminded', ARGV[2])
return 1
"""
)

HOLD_ESCALATION = (
    ADD_EVENT_LUA
    + _OPEN_IN_ROUND
    + """
-- KEYS: escalation, run record, events. ARGV: terminal statuses, round, maxlen, now, reason,
-- event data.
local state = open_in_round(ARGV[1], ARGV[2])
if state ~= 'open' then return state end
redis.call('HSET', KEYS[1], 'held_at', ARGV[4], 'held_reason', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'version', 1)
add_event(KEYS[3], ARGV[3], 'escalation_held', redis.call('HGET', KEYS[1], 'stage') or '',
  ARGV[6], ARGV[4])
return 'ok'
"""
)

HAND_OVER_ESCALATION = (
    ADD_EVENT_LUA
    + _OPEN_IN_ROUND
    + """
-- KEYS: escalation, run record, events. ARGV: terminal statuses, round, maxlen, now,
-- new group, event data, then the new deadline's field/value pairs.
local state = open_in_round(ARGV[1], ARGV[2])
if state ~= 'open' then return state end
local old = redis.call('HGET', KEYS[1], 'group') or ''
redis.call('HSET', KEYS[1], 'group', ARGV[5], 'handed_over_from', old, unpack(ARGV, 7))
redis.call('HINCRBY', KEYS[1], 'version', 1)
add_event(KEYS[3], ARGV[3], 'escalation_handed_over', redis.call('HGET', KEYS[1], 'stage') or '',
  ARGV[6], ARGV[4])
return 'ok'
"""
)

"""The run registry's Lua scripts: each touches one run's keys only (its hash tag)."""

from __future__ import annotations

from state.control.events import ADD_EVENT_LUA
from state.control.outbox import ADD_INTENT_LUA

CREATE_RUN = (
    ADD_EVENT_LUA
    + """
-- KEYS: run hash, events. ARGV: maxlen, ts, status-event data, then field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
add_event(KEYS[2], ARGV[1], 'status', '', ARGV[3], ARGV[2])
return 1
"""
)

SUBMIT_RUN = (
    ADD_EVENT_LUA
    + ADD_INTENT_LUA
    + """
-- KEYS: run hash, events, inputs, outbox.
-- ARGV: maxlen, ts, status-event data, request json, inject, intent id, intent json, then
--       field/value pairs of the run hash.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('HSET', KEYS[3], 'request', ARGV[4], 'inject', ARGV[5])
add_intent(KEYS[4], ARGV[6], ARGV[7])
add_event(KEYS[2], ARGV[1], 'status', '', ARGV[3], ARGV[2])
return 1
"""
)
"""A new run, its input and what must follow (audit, queue) in one step: no run is ever
registered without its input."""

UPDATE_RUN = (
    ADD_EVENT_LUA
    + """
-- KEYS: run hash, fence, events, the run's escalations.
-- ARGV: token ('' = unfenced), new status ('' = unchanged), allowed-from (space separated),
--       terminal statuses (space separated), updated_at, maxlen, then field/value pairs.
-- Replies the status before, the record after and, when the run just ended, its escalations
-- (they leave the global pending index).
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
local ended = {}
if new ~= '' and new ~= old and string.find(' ' .. ARGV[4] .. ' ', ' ' .. new .. ' ', 1, true) then
  ended = redis.call('ZRANGE', KEYS[4], 0, -1)
end
return {'ok', old, redis.call('HGETALL', KEYS[1]), ended}
"""
)

"""Lua scripts: every operation of the checkpointer is one script on one thread's keys.

A script runs atomically, so a checkpoint, its new channel values and its index entry appear
together or not at all, and a fenced write checks the token and writes in one step (no window
for a new lease holder in between). Keys not passed in KEYS are derived from a namespace's key
base stored in the thread's ``ns`` hash, so they share the thread's hash tag.

Writes are idempotent (HSETNX of immutable blobs, HSET of the same record, ZADD, a dedupe on
each write's task id and idx), so a script whose reply was lost may be sent again.

The record, blob and write framing the scripts read is described in ``codec``.
"""

from __future__ import annotations

# Replies of the write scripts.
OK = 1
FENCED = 0
STALE = -1  # prune: the thread moved on since the plan was read
REBASE = -2  # put: an appended list's base blob is gone; send the whole value

HELPERS = """
local function fenced(fence, token)
  return token ~= '' and redis.call('GET', fence) ~= token
end

-- parent id, run id, the fields of the blobs it stores, and channel -> stored field
local function header(rec)
  local parent, run, pos = struct.unpack('>Hc0Hc0', rec, 2)
  local n
  n, pos = struct.unpack('>H', rec, pos)
  local versions = {}
  for i = 1, n do
    local v
    v, pos = struct.unpack('>Bc0', rec, pos)
    versions[i] = v
  end
  local fields, byname = {}, {}
  n, pos = struct.unpack('>H', rec, pos)
  for _ = 1, n do
    local start = pos
    local ch, ref
    ch, ref, pos = struct.unpack('>Hc0H', rec, pos)
    if ref >= 32768 then
      local f = string.sub(rec, start, start + 1 + #ch) .. versions[ref - 32768 + 1]
      fields[#fields + 1] = f
      byname[ch] = f
    end
  end
  return parent, run, fields, byname
end

-- append field/value pairs of a blob and the blobs it extends (each field once per reply)
local function collect(bl, field, out, seen)
  while field and not seen[field] do
    seen[field] = true
    local v = redis.call('HGET', bl, field)
    if not v then return end
    out[#out + 1] = field
    out[#out + 1] = v
    if string.sub(v, 1, 1) ~= 'X' then return end
    field = struct.unpack('>Hc0', v, 2)
  end
end

local function latest(idx)
  return redis.call('ZREVRANGEBYLEX', idx, '+', '-', 'LIMIT', 0, 1)[1]
end

-- keys of a thread expire together: a write keeps (or sets) one TTL on all of them
local function refresh(ns, runs, ttl)
  if ttl <= 0 then
    ttl = redis.call('PTTL', ns)
  end
  if ttl <= 0 then return end
  for _, base in ipairs(redis.call('HVALS', ns)) do
    for _, s in ipairs({':idx', ':rec', ':bl', ':w'}) do
      redis.call('PEXPIRE', base .. s, ttl)
    end
  end
  redis.call('PEXPIRE', ns, ttl)
  redis.call('PEXPIRE', runs, ttl)
end

-- delete the blobs no remaining record refers to (directly or as an extended base)
local function gc(base)
  local keep, bl = {}, base .. ':bl'
  for _, rec in ipairs(redis.call('HVALS', base .. ':rec')) do
    local _, _, fields = header(rec)
    for _, f in ipairs(fields) do
      local g = f
      while g and not keep[g] do
        keep[g] = true
        local v = redis.call('HGET', bl, g)
        if not v or string.sub(v, 1, 1) ~= 'X' then break end
        g = struct.unpack('>Hc0', v, 2)
      end
    end
  end
  for _, f in ipairs(redis.call('HKEYS', bl)) do
    if not keep[f] then redis.call('HDEL', bl, f) end
  end
end
"""

# KEYS: fence, ns, runs, idx, rec, bl. ARGV: token, ttl ms, ns name, ns base, run id,
# checkpoint id, record, then (field, blob, base field or '') per new channel value.
PUT = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
for i = 8, #ARGV, 3 do
  if ARGV[i + 2] ~= '' and redis.call('HEXISTS', KEYS[6], ARGV[i + 2]) == 0 then return -2 end
end
redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('SADD', KEYS[3], ARGV[5]) end
for i = 8, #ARGV, 3 do
  redis.call('HSETNX', KEYS[6], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[5], ARGV[6], ARGV[7])
redis.call('ZADD', KEYS[4], 0, ARGV[6])
refresh(KEYS[2], KEYS[3], tonumber(ARGV[2]))
return 1
"""
)

# KEYS: fence, ns, runs, w. ARGV: token, ttl ms, ns name, ns base, checkpoint id, then
# (entry body, '1' to overwrite or '0' to keep the first) per write.
PUT_WRITES = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
local old = redis.call('HGET', KEYS[4], ARGV[5]) or ''
local entries, order, pos = {}, {}, 1
while pos <= #old do
  local e
  e, pos = struct.unpack('>I4c0', old, pos)
  local task, idx = struct.unpack('>Hc0i4', e)
  local k = task .. '\\0' .. idx
  order[#order + 1] = k
  entries[k] = e
end
for i = 6, #ARGV, 2 do
  local e = ARGV[i]
  local task, idx = struct.unpack('>Hc0i4', e)
  local k = task .. '\\0' .. idx
  if entries[k] == nil then
    order[#order + 1] = k
    entries[k] = e
  elseif ARGV[i + 1] == '1' then
    entries[k] = e
  end
end
local parts = {}
for _, k in ipairs(order) do
  parts[#parts + 1] = struct.pack('>I4', #entries[k]) .. entries[k]
end
redis.call('HSET', KEYS[4], ARGV[5], table.concat(parts))
refresh(KEYS[2], KEYS[3], tonumber(ARGV[2]))
return 1
"""
)

# KEYS: ns, runs, idx, rec, bl, w. ARGV: checkpoint id or '' for the latest, TTL to refresh.
# Returns {id, record, writes, {field, blob, ...}} or nil.
GET = (
    HELPERS
    + """
local id = ARGV[1]
if id == '' then
  id = latest(KEYS[3])
  if not id then return false end
end
local rec = redis.call('HGET', KEYS[4], id)
if not rec then return false end
local _, _, fields = header(rec)
local pieces, seen = {}, {}
for _, f in ipairs(fields) do collect(KEYS[5], f, pieces, seen) end
if tonumber(ARGV[2]) > 0 then refresh(KEYS[1], KEYS[2], tonumber(ARGV[2])) end
return {id, rec, redis.call('HGET', KEYS[6], id) or false, pieces}
"""
)

# KEYS: idx, rec, bl, w. ARGV: cursor ('+' or '(<id>'), page size, only this id or ''.
# Returns {ids read, {{id, record, writes}, ...}, {field, blob, ...}}.
LIST = (
    HELPERS
    + """
local ids
if ARGV[3] ~= '' then
  ids = {ARGV[3]}
else
  ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
end
local rows, pieces, seen = {}, {}, {}
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[2], id)
  if rec then
    local _, _, fields = header(rec)
    for _, f in ipairs(fields) do collect(KEYS[3], f, pieces, seen) end
    rows[#rows + 1] = {id, rec, redis.call('HGET', KEYS[4], id) or false}
  end
end
return {#ids, rows, pieces}
"""
)

# KEYS: idx, rec, bl, w. ARGV: target id or '', then channel names. Walks the target's
# ancestors until each channel has a stored value. Returns
# {{{id, writes}, ...} newest first, {channel, field, depth, ...}, {field, blob, ...}} or nil.
HISTORY = (
    HELPERS
    + """
local id = ARGV[1]
if id == '' then
  id = latest(KEYS[1])
  if not id then return false end
end
local rec = redis.call('HGET', KEYS[2], id)
if not rec then return false end
local remaining, left = {}, 0
for i = 2, #ARGV do
  if not remaining[ARGV[i]] then left = left + 1 end
  remaining[ARGV[i]] = true
end
local cur = header(rec)
local visited, seeds, pieces, seen, walked = {}, {}, {}, {}, {[id] = true}
while cur ~= '' and left > 0 and not walked[cur] do
  walked[cur] = true
  local r = redis.call('HGET', KEYS[2], cur)
  if not r then break end
  local parent, _, _, byname = header(r)
  visited[#visited + 1] = {cur, redis.call('HGET', KEYS[4], cur) or false}
  for ch, _ in pairs(remaining) do
    local f = byname[ch]
    if f then
      seeds[#seeds + 1] = ch
      seeds[#seeds + 1] = f
      seeds[#seeds + 1] = #visited
      collect(KEYS[3], f, pieces, seen)
      remaining[ch] = nil
      left = left - 1
    end
  end
  cur = parent
end
return {visited, seeds, pieces}
"""
)

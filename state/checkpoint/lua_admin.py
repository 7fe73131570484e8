"""Lua scripts for thread maintenance: delete, expire, prune, delete runs, copy, size.

Same rules as ``lua``: one thread's keys per script, keys derived from the thread's ``ns``
hash, a fence check before any change.
"""

from __future__ import annotations

from state.checkpoint.lua import HELPERS

# KEYS: fence, ns, runs. ARGV: token. Returns the thread's run ids (for the global index),
# or 0 when fenced.
DELETE_THREAD = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
local runs = redis.call('SMEMBERS', KEYS[3])
for _, base in ipairs(redis.call('HVALS', KEYS[2])) do
  redis.call('DEL', base .. ':idx', base .. ':rec', base .. ':bl', base .. ':w')
end
redis.call('DEL', KEYS[2], KEYS[3])
return {runs}
"""
)

# KEYS: fence, ns, runs. ARGV: token, ttl ms. Returns the number of namespaces (0: no
# thread), or -3 when fenced (0 means "nothing to expire" here).
EXPIRE = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return -3 end
local n = redis.call('HLEN', KEYS[2])
if n > 0 then refresh(KEYS[2], KEYS[3], tonumber(ARGV[1 + 1])) end
return n
"""
)

# KEYS: ns. Returns {ns name, latest id or false, its record or false, ...} per namespace.
LATEST = (
    HELPERS
    + """
local out = {}
local names = redis.call('HGETALL', KEYS[1])
for i = 1, #names, 2 do
  local id = latest(names[i + 1] .. ':idx')
  out[#out + 1] = names[i]
  out[#out + 1] = id or false
  out[#out + 1] = id and redis.call('HGET', names[i + 1] .. ':rec', id) or false
end
return out
"""
)

# Keep each namespace's latest checkpoint, the ancestors a DeltaChannel needs to rebuild its
# value there, their writes (and writes of newer, not yet stored checkpoints) and the blobs
# they refer to. KEYS: fence, ns, runs. ARGV: token, then per namespace: name, kept latest
# id, number of channels, the channels that need a stored value in a kept ancestor.
PRUNE = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
local plans, i = {}, 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 2])
  local need = {}
  for j = 1, n do need[ARGV[i + 2 + j]] = true end
  plans[#plans + 1] = {ARGV[i], ARGV[i + 1], need}
  i = i + 3 + n
end
if redis.call('HLEN', KEYS[2]) ~= #plans then return -1 end
for _, p in ipairs(plans) do
  local base = redis.call('HGET', KEYS[2], p[1])
  if not base or (latest(base .. ':idx') or '') ~= p[2] then return -1 end
end
for _, p in ipairs(plans) do
  local base, kept, need = redis.call('HGET', KEYS[2], p[1]), p[2], p[3]
  local keep, cur = {}, kept
  while cur ~= '' and not keep[cur] do
    local rec = redis.call('HGET', base .. ':rec', cur)
    if not rec then break end
    keep[cur] = true
    local parent, _, _, byname = header(rec)
    local left = false
    for ch, _ in pairs(need) do
      if byname[ch] then need[ch] = nil else left = true end
    end
    if not left then break end
    cur = parent
  end
  for _, id in ipairs(redis.call('ZRANGE', base .. ':idx', 0, -1)) do
    if not keep[id] then
      redis.call('HDEL', base .. ':rec', id)
      redis.call('ZREM', base .. ':idx', id)
    end
  end
  for _, id in ipairs(redis.call('HKEYS', base .. ':w')) do
    if not keep[id] and id < kept then redis.call('HDEL', base .. ':w', id) end
  end
  gc(base)
end
return 1
"""
)

# KEYS: fence, ns, runs. ARGV: token, then run ids. Deletes their checkpoints and writes in
# every namespace, then the blobs nothing refers to any more. Returns 1, or 0 when fenced.
DELETE_RUNS = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
local targets = {}
for i = 2, #ARGV do targets[ARGV[i]] = true end
local names = redis.call('HGETALL', KEYS[2])
for i = 1, #names, 2 do
  local base = names[i + 1]
  local recs = redis.call('HGETALL', base .. ':rec')
  for j = 1, #recs, 2 do
    local _, run = header(recs[j + 1])
    if targets[run] then
      redis.call('HDEL', base .. ':rec', recs[j])
      redis.call('ZREM', base .. ':idx', recs[j])
      redis.call('HDEL', base .. ':w', recs[j])
    end
  end
  gc(base)
  if redis.call('HLEN', base .. ':rec') == 0 and redis.call('HLEN', base .. ':w') == 0 then
    redis.call('DEL', base .. ':idx', base .. ':rec', base .. ':bl', base .. ':w')
    redis.call('HDEL', KEYS[2], names[i])
  end
end
for i = 2, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return 1
"""
)

# KEYS: ns, runs. Returns {run ids, {name, records, blobs, writes (HGETALL lists)}, ...}.
EXPORT = (
    HELPERS
    + """
local out = {redis.call('SMEMBERS', KEYS[2])}
local names = redis.call('HGETALL', KEYS[1])
for i = 1, #names, 2 do
  local b = names[i + 1]
  out[#out + 1] = {names[i], redis.call('HGETALL', b .. ':rec'), redis.call('HGETALL', b .. ':bl'),
    redis.call('HGETALL', b .. ':w')}
end
return out
"""
)

# KEYS: fence, ns, runs. ARGV: token, ttl ms, then tagged items: 'n' name base | 'u' run id |
# 'r' base id record | 'b' base field blob | 'w' base id writes.
IMPORT = (
    HELPERS
    + """
if fenced(KEYS[1], ARGV[1]) then return 0 end
local i = 3
while i <= #ARGV do
  local tag = ARGV[i]
  if tag == 'n' then
    redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif tag == 'u' then
    redis.call('SADD', KEYS[3], ARGV[i + 1])
    i = i + 2
  elseif tag == 'r' then
    redis.call('HSET', ARGV[i + 1] .. ':rec', ARGV[i + 2], ARGV[i + 3])
    redis.call('ZADD', ARGV[i + 1] .. ':idx', 0, ARGV[i + 2])
    i = i + 4
  elseif tag == 'b' then
    redis.call('HSETNX', ARGV[i + 1] .. ':bl', ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif tag == 'w' then
    redis.call('HSET', ARGV[i + 1] .. ':w', ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  else
    return redis.error_reply('checkpointer: unknown import tag')
  end
end
refresh(KEYS[2], KEYS[3], tonumber(ARGV[2]))
return 1
"""
)

# KEYS: ns, runs. Returns the thread's existing keys.
STORAGE_KEYS = """
local out = {}
for _, base in ipairs(redis.call('HVALS', KEYS[1])) do
  for _, s in ipairs({':idx', ':rec', ':bl', ':w'}) do
    if redis.call('EXISTS', base .. s) == 1 then out[#out + 1] = base .. s end
  end
end
for _, k in ipairs({KEYS[1], KEYS[2]}) do
  if redis.call('EXISTS', k) == 1 then out[#out + 1] = k end
end
return out
"""

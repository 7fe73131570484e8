"""Lua scripts: every write of the checkpointer is one script on one thread's keys.

A script runs atomically, so a checkpoint, its new channel values and its index entry appear
together or not at all, and a fenced write checks the token and writes in one step (no window
for a new lease holder in between). Every key a script touches shares the thread's hash tag;
``DELETE_THREAD`` derives keys from the stored key bases (same tag), which keeps it atomic
without a read-then-delete race.

Every operation is idempotent (HSET of the same value, ZADD, HSETNX, DEL), so redis-py may
safely retry a script whose reply was lost with the connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Replies of the write scripts.
OK = 1
FENCED = 0

# KEYS[1] = the run's fence key; KEYS[2..] = data keys of the same run.
# ARGV[1] = fencing token, or "" for no check; then 4 arguments per operation:
#   op ("hset" | "hsetnx" | "zadd"), index into KEYS, field or member, value (unused by zadd).
APPLY = """
local token = ARGV[1]
if token ~= '' and redis.call('GET', KEYS[1]) ~= token then
  return 0
end
-- validate everything first: a script that failed half-way would not be rolled back
for i = 2, #ARGV, 4 do
  local op = ARGV[i]
  if op ~= 'hset' and op ~= 'hsetnx' and op ~= 'zadd' then
    return redis.error_reply('checkpointer: unknown op ' .. tostring(op))
  end
  if KEYS[tonumber(ARGV[i + 1])] == nil then
    return redis.error_reply('checkpointer: bad key index')
  end
end
for i = 2, #ARGV, 4 do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'hset' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'hsetnx' then
    redis.call('HSETNX', key, ARGV[i + 2], ARGV[i + 3])
  else
    redis.call('ZADD', key, 0, ARGV[i + 2])
  end
end
return 1
"""

# KEYS[1] = fence key, KEYS[2] = the thread's namespaces hash. ARGV[1] = token or "".
DELETE_THREAD = """
local token = ARGV[1]
if token ~= '' and redis.call('GET', KEYS[1]) ~= token then
  return 0
end
for _, base in ipairs(redis.call('HVALS', KEYS[2])) do
  for _, wkey in ipairs(redis.call('HVALS', base .. ':wkeys')) do
    redis.call('DEL', wkey)
  end
  redis.call('DEL', base .. ':idx', base .. ':ck', base .. ':blobs', base .. ':wkeys')
end
redis.call('DEL', KEYS[2])
return 1
"""


@dataclass
class ScriptCall:
    """Builds the KEYS/ARGV of one ``APPLY`` call: a fence check plus a list of operations.

    Args:
        fence_key: The run's fence key (always KEYS[1]).
        token: The saver's fencing token, or ``None`` for no check.
    """

    fence_key: str
    token: int | None
    keys: list[str] = field(init=False)
    args: list[str | bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.keys = [self.fence_key]
        self.args = ["" if self.token is None else str(self.token)]
        self._slots: dict[str, int] = {}

    def _slot(self, key: str) -> str:
        if key not in self._slots:
            self.keys.append(key)
            self._slots[key] = len(self.keys)
        return str(self._slots[key])

    def hset(self, key: str, name: str, value: str | bytes) -> None:
        """Set a hash field (overwrites)."""
        self.args += ["hset", self._slot(key), name, value]

    def hsetnx(self, key: str, name: str, value: str | bytes) -> None:
        """Set a hash field unless it exists (first write wins)."""
        self.args += ["hsetnx", self._slot(key), name, value]

    def zadd(self, key: str, member: str) -> None:
        """Add a member with score 0 to a lexically ordered sorted set."""
        self.args += ["zadd", self._slot(key), member, ""]

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        return len(self.args) == 1


STALE_PLAN = -1

# Keep only the latest checkpoint of each namespace, its writes (and writes of any newer,
# not yet stored checkpoint) and the channel values it references.
# KEYS[1] = fence key, KEYS[2] = namespaces hash. ARGV[1] = token or "", then per namespace:
#   key base, kept checkpoint id ("" if none), number of kept blob fields, the fields.
# Returns -1 if a checkpoint or namespace appeared since the caller read the plan (retry).
PRUNE_KEEP_LATEST = """
local token = ARGV[1]
if token ~= '' and redis.call('GET', KEYS[1]) ~= token then
  return 0
end
local plans, i = {}, 2
while i <= #ARGV do
  local base, kept, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local latest = redis.call('ZREVRANGEBYLEX', base .. ':idx', '+', '-', 'LIMIT', 0, 1)[1]
  if (latest or '') ~= kept then
    return -1
  end
  local keep = {}
  for j = 1, n do
    keep[ARGV[i + 2 + j]] = true
  end
  plans[#plans + 1] = {base, kept, keep}
  i = i + 3 + n
end
if redis.call('HLEN', KEYS[2]) ~= #plans then
  return -1
end
for _, p in ipairs(plans) do
  local base, kept, keep = p[1], p[2], p[3]
  if kept ~= '' then
    local older = redis.call('ZRANGEBYLEX', base .. ':idx', '-', '(' .. kept)
    for _, id in ipairs(older) do
      redis.call('HDEL', base .. ':ck', id)
    end
    redis.call('ZREMRANGEBYLEX', base .. ':idx', '-', '(' .. kept)
  end
  local wkeys = redis.call('HGETALL', base .. ':wkeys')
  for j = 1, #wkeys, 2 do
    if wkeys[j] < kept then
      redis.call('DEL', wkeys[j + 1])
      redis.call('HDEL', base .. ':wkeys', wkeys[j])
    end
  end
  for _, f in ipairs(redis.call('HKEYS', base .. ':blobs')) do
    if not keep[f] then
      redis.call('HDEL', base .. ':blobs', f)
    end
  end
end
return 1
"""

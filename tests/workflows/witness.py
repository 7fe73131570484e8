"""The test workflows' downstream systems apply an effect once per idempotency key, and count
it, in one step (as a real system commits an order): a process killed between two separate
commands would leave an effect applied but not counted."""

from __future__ import annotations

import redis

APPLY_ONCE = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX') then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  return 1
end
return 0
"""


def apply_once(r: redis.Redis, marker: str, counts: str, field: str, value: str = "1") -> bool:
    """Set ``marker`` to ``value`` unless it exists, and then add 1 to ``counts[field]``; True
    when this call applied it."""
    return bool(r.eval(APPLY_ONCE, 2, marker, counts, field, value))

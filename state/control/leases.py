"""Per-run leases with a fencing token, so two workers never advance the same run.

``acquire`` increments the run's fence (``state.keys.fence_key``, an integer that only grows)
and returns the new value as the holder's token; the lease itself (``wb:{<run>}:lease``, a hash
with ``holder`` and ``token``) expires after its TTL unless renewed. Every per-run write made on
behalf of a holder compares the holder's token with the fence inside one Lua script, so a holder
that was paused past its TTL while another took over is refused (``LeaseLost``): this module's
``guarded``, ``RunRegistry.update(..., fence=token)`` and the checkpointer's scripts all apply
the same rule, ``token == GET fence``.

A holder whose lease merely expired (nobody took over) still passes the fence, but ``renew``
tells it the lease is lost: a worker that fails to renew must stop. ``release`` bumps the fence
too, so a released token can no longer write.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from state.control.connection import text
from state.control.errors import LeaseHeld, LeaseLost
from state.control.models import Lease
from state.keys import fence_key, run_key, run_tag

_ACQUIRE = """
-- KEYS: lease, fence. ARGV: holder, ttl_ms.
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= ARGV[1] then return {'held', holder, redis.call('PTTL', KEYS[1])} end
local token = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok', token}
"""

_RENEW = """
-- KEYS: lease, fence. ARGV: token, ttl_ms.
local current = redis.call('GET', KEYS[2])
if current ~= ARGV[1] then return {'stale', current or ''} end
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {'expired', current} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok', current}
"""

_RELEASE = """
-- KEYS: lease, fence. ARGV: token.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return 1
"""

_GUARDED = """
-- KEYS: fence, then one key per command. ARGV: token, n commands, then per command:
-- argc, name, args (without the key).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {'fenced', redis.call('GET', KEYS[1]) or ''}
end
local out = {'ok'}
local i = 3
for c = 1, tonumber(ARGV[2]) do
  local argc = tonumber(ARGV[i])
  local cmd = {ARGV[i + 1], KEYS[c + 1]}
  for j = 1, argc do cmd[j + 2] = ARGV[i + 1 + j] end
  out[c + 1] = redis.call(unpack(cmd))
  i = i + argc + 2
end
return out
"""


def lease_key(run_id: str) -> str:
    """The hash describing a run's current lease (expires with the lease)."""
    return run_key(run_id, "lease")


class Leases:
    """Acquire, renew and release per-run leases; run writes fenced by the token."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._guarded = client.register_script(_GUARDED)

    def acquire(self, run_id: str, holder: str, ttl: float) -> int:
        """Take the run's lease for ``ttl`` seconds and return the new fencing token.

        The same holder may re-acquire (it gets a new token; its old one goes stale).

        Raises:
            LeaseHeld: Another holder's lease has not expired.
        """
        reply = self._acquire(keys=[lease_key(run_id), fence_key(run_id)], args=[holder, _ms(ttl)])
        outcome, *rest = [text(x) if not isinstance(x, int) else str(x) for x in reply]
        if outcome == "held":
            raise LeaseHeld(run_id, rest[0], int(rest[1]))
        return int(rest[0])

    def renew(self, run_id: str, token: int, ttl: float) -> None:
        """Extend the lease to ``ttl`` seconds from now.

        Raises:
            LeaseLost: The token is stale, or the lease expired: stop advancing the run.
        """
        reply = self._renew(
            keys=[lease_key(run_id), fence_key(run_id)], args=[str(token), _ms(ttl)]
        )
        outcome, current = (text(x) for x in reply)
        if outcome != "ok":
            raise LeaseLost(run_id, token, int(current) if current else None)

    def release(self, run_id: str, token: int) -> bool:
        """Give the lease up; ``False`` (and nothing changes) if the token was already stale."""
        released = self._release(keys=[lease_key(run_id), fence_key(run_id)], args=[str(token)])
        return bool(int(released))

    def current(self, run_id: str) -> Lease | None:
        """The run's live lease, or ``None``."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(lease_key(run_id))
        pipe.pttl(lease_key(run_id))
        fields, ttl = pipe.execute()
        if not fields:
            return None
        return Lease(
            run_id=run_id,
            holder=text(fields["holder"]),
            token=int(fields["token"]),
            ttl_ms=max(int(ttl), 0),
        )

    def check(self, run_id: str, token: int) -> None:
        """Raise ``LeaseLost`` unless ``token`` is the run's current fencing token."""
        current = self._r.get(fence_key(run_id))
        if current is None or int(current) != token:
            raise LeaseLost(run_id, token, int(current) if current is not None else None)

    def guarded(self, run_id: str, token: int, commands: Sequence[Sequence[str]]) -> list[object]:
        """Run Redis commands on the run's keys atomically, only if ``token`` is current.

        Each command is ``(name, key, *args)``: its single key comes first and must belong to
        the run (``wb:{<run>}:...``). Example:
        ``leases.guarded(run, token, [("HSET", run_key(run, "x"), "f", "v")])``.

        The token is checked before anything runs; like any Lua script, a command that fails
        half-way (say, a wrong-type key) does not undo the commands before it.

        Returns:
            The commands' replies, in order.

        Raises:
            LeaseLost: The token is stale; nothing was written.
            ValueError: A command's key is not one of the run's keys.
        """
        prefix = run_tag(run_id) + ":"
        keys = [fence_key(run_id)]
        args: list[str] = [str(token), str(len(commands))]
        for name, key, *rest in commands:
            if not key.startswith(prefix):
                raise ValueError(f"{key!r} is not a key of run {run_id!r}")
            keys.append(key)
            args += [str(len(rest)), name, *rest]
        reply = self._guarded(keys=keys, args=args)
        if text(reply[0]) == "fenced":
            current = text(reply[1])
            raise LeaseLost(run_id, token, int(current) if current else None)
        return list(reply[1:])


def _ms(seconds: float) -> str:
    if seconds <= 0:
        raise ValueError("a lease TTL must be positive")
    return str(max(1, int(seconds * 1000)))

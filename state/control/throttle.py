"""The login throttle: per user name and per client address, checked and counted atomically.

Each attempt is *reserved* by one Lua script before its password is checked: the script
refuses the attempt while the user's or the address's delay runs, and otherwise counts it as a
failure at once (and starts the next delay when the allowance is spent). A success then clears
the user's count and gives the address its reservation back. Because the check and the count
are one step, parallel attempts cannot all slip in before the first failure is recorded: at
most the allowance is ever checked, however many arrive at once.

Counters are hashes ``wb:{auth}:fail:<kind>:<subject>`` (``count``, ``until``) that expire
``window_s`` after the last attempt. They share the ``{auth}`` hash tag so the script's keys
live in one Redis Cluster slot. Names that cannot be user names share one counter, so made-up
names cannot create keys without bound. Times come from the server's clock (``TIME``), the
same for every console process.

Failed logins are written to the audit log by the console; :meth:`LoginThrottle.audit_failure`
rate-limits those entries (globally, per minute), so nobody can grow the log without logging
in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import redis

from state.control.connection import text
from state.keys import PREFIX, escape

AUTH_TAG = f"{PREFIX}:{{auth}}"

_BEGIN = """
-- KEYS: counter hashes (user, then address if any).
-- ARGV: window_s, base_delay_s, max_delay_s, then the free allowance of each key.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ts = tonumber(redis.call('HGET', key, 'until') or '0')
  if until_ts > now then wait = math.max(wait, until_ts - now) end
end
if wait > 0 then return {'throttled', tostring(wait)} end
local delay = 0
for i, key in ipairs(KEYS) do
  local count = redis.call('HINCRBY', key, 'count', 1)
  redis.call('EXPIRE', key, ARGV[1])
  local free = tonumber(ARGV[3 + i])
  if count >= free then
    local d = math.min(tonumber(ARGV[2]) * 2 ^ (count - free), tonumber(ARGV[3]))
    redis.call('HSET', key, 'until', string.format('%.6f', now + d))
    delay = math.max(delay, d)
  end
end
return {'go', tostring(delay)}
"""

_SUCCEEDED = """
-- KEYS: user counter, address counter (optional). The address keeps its other failures.
redis.call('DEL', KEYS[1])
if KEYS[2] and redis.call('HINCRBY', KEYS[2], 'count', -1) <= 0 then
  redis.call('DEL', KEYS[2])
end
return 1
"""

_AUDIT = """
-- KEYS: the window's counter. ARGV: window length (s). Failures so far in this window.
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_AUDIT_KEY = f"{AUTH_TAG}:audit:failures"


def throttle_key(kind: Literal["user", "ip"], subject: str) -> str:
    """The counter of one user name (lower-cased) or one client address."""
    return f"{AUTH_TAG}:fail:{kind}:{escape(subject)}"


@dataclass(frozen=True)
class Attempt:
    """The throttle's answer to one login attempt.

    ``allowed``: check the password; ``wait_s`` is then the delay that applies if it is
    wrong. Otherwise the attempt is refused unchecked and ``wait_s`` is how long to wait.
    """

    allowed: bool
    wait_s: float


AuditVerdict = Literal["entry", "pause", "skip"]
"""Audit this failure (``entry``), write one "paused" entry instead (``pause``), or nothing."""


class LoginThrottle:
    """Reserve login attempts atomically; rate-limit the audit entries of failed logins.

    Args:
        client: A client from ``connect``.
        free_attempts: Failures of one user name allowed before attempts are delayed (an
            address gets ``address_factor`` times as many: it may mistype several names).
        base_delay_s: First delay; it doubles with every further failure.
        max_delay_s: Longest delay.
        window_s: How long failures are remembered after the last attempt.
        audit_per_minute: Failed logins audited per minute (all users and addresses).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        free_attempts: int = 3,
        address_factor: int = 3,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        window_s: int = 900,
        audit_per_minute: int = 30,
    ) -> None:
        self._r = client
        self.free_attempts = free_attempts
        self.address_factor = address_factor
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.audit_per_minute = audit_per_minute
        self._begin = client.register_script(_BEGIN)
        self._succeeded = client.register_script(_SUCCEEDED)
        self._audit = client.register_script(_AUDIT)

    def keys(self, subject: str, client_ip: str | None) -> list[str]:
        """The counters an attempt for ``subject`` (a normalised name) from ``client_ip`` uses."""
        keys = [throttle_key("user", subject)]
        if client_ip:
            keys.append(throttle_key("ip", client_ip))
        return keys

    def begin(self, subject: str, client_ip: str | None) -> Attempt:
        """Reserve one attempt (counted as a failure until :meth:`succeeded` says otherwise)."""
        keys = self.keys(subject, client_ip)
        frees = [self.free_attempts, self.free_attempts * self.address_factor][: len(keys)]
        args = [self.window_s, self.base_delay_s, self.max_delay_s, *frees]
        outcome, wait = (text(x) for x in self._begin(keys=keys, args=args))
        return Attempt(allowed=outcome == "go", wait_s=float(wait))

    def succeeded(self, subject: str, client_ip: str | None) -> None:
        """The reserved attempt had the right password: forget the user's failures."""
        self._succeeded(keys=self.keys(subject, client_ip))

    def retry_after(self, subject: str, client_ip: str | None = None) -> float:
        """Seconds until an attempt for ``subject`` (from ``client_ip``) is checked again."""
        pipe = self._r.pipeline(transaction=False)
        pipe.time()
        for key in self.keys(subject, client_ip):
            pipe.hget(key, "until")
        (secs, micros), *untils = pipe.execute()
        now = int(secs) + int(micros) / 1_000_000
        return max([0.0, *(float(text(u)) - now for u in untils if u is not None)])

    def audit_failure(self) -> AuditVerdict:
        """Whether to audit one more failed login.

        A window opens at a failure when none is open and lasts a minute: its first
        ``audit_per_minute`` failures are audited, the next one is replaced by a single entry
        saying auditing paused, and the rest of the window is not audited (the throttle still
        counts and delays those attempts).
        """
        n = int(self._audit(keys=[_AUDIT_KEY], args=[60]))
        if n <= self.audit_per_minute:
            return "entry"
        return "pause" if n == self.audit_per_minute + 1 else "skip"

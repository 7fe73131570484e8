"""Console sessions: who is signed in, server-side, with an expiry and revocation.

A session is the hash ``wb:session:<sha256 of the token>`` (``user``, ``created_at``,
``expires_at``); the raw token exists only in the browser's cookie, so reading Redis gives
nobody a usable session. ``wb:sessions:user:<name>`` lists the hashes of one user's sessions,
so they can all be revoked at once (a password change, a removed user).

Two clocks end a session: ``idle_s`` without a page view (the key's TTL, pushed back by each
``get`` unless it only peeks) and ``max_age_s`` after login (``expires_at``, never pushed back).
``get`` checks and extends in one script, so an expired session is never extended. ``revoke``
deletes the key: the next page view with that cookie finds nothing, whatever the browser still
holds.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import redis

from state.control.connection import text
from state.control.errors import InvalidArgument
from state.control.models import from_epoch
from state.keys import global_key

_GET = """
-- KEYS: session. ARGV: now (ms), idle (ms), touch (1: restart the idle clock).
local f = redis.call('HMGET', KEYS[1], 'user', 'created_at', 'expires_at')
if not f[1] then return false end
local left = tonumber(f[3]) - tonumber(ARGV[1])
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
if ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[1], math.min(left, tonumber(ARGV[2])))
end
return f
"""


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(digest: str) -> str:
    """The hash of one session, by its token's digest."""
    return global_key("session", digest)


def _user_index(user: str) -> str:
    return global_key("sessions", "user", user)


@dataclass(frozen=True)
class Session:
    """A live session; ``id`` is a short prefix of the token's digest, fit for the audit log."""

    id: str
    user: str
    created_at: datetime
    expires_at: datetime


class SessionStore:
    """Create, look up and revoke console sessions.

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
        idle_s: A session ends after this long without a page view.
        max_age_s: A session ends this long after login, however active.
    """

    def __init__(
        self, client: redis.Redis, *, idle_s: int = 8 * 3600, max_age_s: int = 7 * 86400
    ) -> None:
        if idle_s <= 0 or max_age_s <= 0:
            raise InvalidArgument("session lifetimes must be positive")
        self._r = client
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self._get = client.register_script(_GET)

    def create(self, user: str) -> tuple[str, Session]:
        """Open a session for ``user``; returns the raw token (give it to the browser only)."""
        if not user.strip():
            raise InvalidArgument("a session needs a user")
        token = secrets.token_urlsafe(32)
        digest = token_digest(token)
        now_ms = int(time.time() * 1000)
        expires_ms = now_ms + self.max_age_s * 1000
        # Listed under its user first (so ending all of a user's sessions never misses it),
        # then the session itself, atomically with its idle TTL (one key: one slot).
        pipe = self._r.pipeline(transaction=False)
        pipe.sadd(_user_index(user), digest)
        pipe.expire(_user_index(user), self.max_age_s)
        pipe.execute()
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(
            session_key(digest),
            mapping={"user": user, "created_at": str(now_ms), "expires_at": str(expires_ms)},
        )
        pipe.pexpire(session_key(digest), min(self.idle_s, self.max_age_s) * 1000)
        pipe.execute()
        return token, _session(digest, user, now_ms, expires_ms)

    def get(self, token: str | None, *, touch: bool = True) -> Session | None:
        """The live session of ``token``, or ``None``.

        Args:
            token: The browser's token.
            touch: Restart the idle clock (a page view or an action). A background refresh
                passes ``False``, so an open but unused tab does not keep a session alive.
        """
        if not token:
            return None
        digest = token_digest(token)
        now_ms = int(time.time() * 1000)
        args = [now_ms, self.idle_s * 1000, "1" if touch else "0"]
        reply = self._get(keys=[session_key(digest)], args=args)
        if not reply:
            return None
        user, created, expires = (text(v) for v in reply)
        return _session(digest, user, int(created), int(expires))

    def revoke(self, token: str | None) -> Session | None:
        """End the session of ``token`` now; returns what it was (``None``: nothing to end)."""
        if not token:
            return None
        digest = token_digest(token)
        fields = self._r.hgetall(session_key(digest))
        pipe = self._r.pipeline(transaction=False)
        pipe.delete(session_key(digest))
        if fields:
            pipe.srem(_user_index(text(fields["user"])), digest)
        deleted = pipe.execute()[0]
        if not deleted or not fields:
            return None
        return _session(
            digest, text(fields["user"]), int(fields["created_at"]), int(fields["expires_at"])
        )

    def revoke_user(self, user: str) -> int:
        """End every session of ``user``; returns how many were live."""
        digests = [text(d) for d in self._r.smembers(_user_index(user))]
        if not digests:
            return 0
        pipe = self._r.pipeline(transaction=False)
        for digest in digests:
            pipe.delete(session_key(digest))
        pipe.delete(_user_index(user))
        return sum(int(n) for n in pipe.execute()[:-1])


def _session(digest: str, user: str, created_ms: int, expires_ms: int) -> Session:
    return Session(
        id=digest[:12],
        user=user,
        created_at=from_epoch(created_ms / 1000),
        expires_at=from_epoch(expires_ms / 1000),
    )

"""API tokens: how the command line acts as a console user.

``issue`` returns a random token once (``wbt_`` and 256 random bits); only its SHA-256 is kept, in
the hash ``wb:{tokens}:token:<digest>`` (``user``, ``id``, ``label``, ``created_at``), so reading
Redis gives nobody a usable token. ``wb:{tokens}:user:<name>`` maps each of a user's token ids to
its digest, so tokens can be listed and revoked by id, or all at once. A token is only as good as
its user: a removed user's token verifies to nothing, and the role is the user's current one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import redis

from state.clock import utcnow
from state.control.connection import text
from state.control.models import from_epoch, to_epoch
from state.control.users import UserError, user_key
from state.keys import family_key

PREFIX = "wbt_"


def token_key(digest: str) -> str:
    """The hash of one token, by its digest."""
    return family_key("tokens", "token", digest)


def _index(user: str) -> str:
    return family_key("tokens", "user", user)


def digest_of(token: str) -> str:
    """What is stored of a token: its SHA-256 (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the token itself); ``id`` is a prefix of its digest."""

    id: str
    user: str
    label: str
    created_at: datetime


class TokenStore:
    """Issue, verify, list and revoke API tokens."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def issue(self, user: str, label: str = "") -> tuple[str, TokenInfo]:
        """A new token for ``user``: ``(the token, shown once; what is kept of it)``.

        Raises:
            UserError: Unknown user.
        """
        if not self._r.exists(user_key(user)):
            raise UserError(f"no user {user!r}")
        token = PREFIX + secrets.token_urlsafe(32)
        digest = digest_of(token)
        info = TokenInfo(id=digest[:12], user=user, label=label, created_at=utcnow())
        fields = {
            "user": user,
            "id": info.id,
            "label": label,
            "created_at": repr(to_epoch(info.created_at)),
        }
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(token_key(digest), mapping=fields)  # type: ignore[arg-type]
        pipe.hset(_index(user), info.id, digest)
        pipe.execute()
        return token, info

    def verify(self, token: str) -> TokenInfo | None:
        """What ``token`` is, if it is live and its user still exists; else ``None``."""
        if not token.startswith(PREFIX):
            return None
        fields = {text(k): text(v) for k, v in self._r.hgetall(token_key(digest_of(token))).items()}
        if not fields or not self._r.exists(user_key(fields["user"])):
            return None
        return _info(fields)

    def list(self, user: str) -> list[TokenInfo]:
        """The user's live tokens, oldest first."""
        digests = [text(d) for d in self._r.hvals(_index(user))]
        pipe = self._r.pipeline(transaction=False)
        for digest in digests:
            pipe.hgetall(token_key(digest))
        found = [
            _info({text(k): text(v) for k, v in fields.items()})
            for fields in (pipe.execute() if digests else [])
            if fields
        ]
        return sorted(found, key=lambda t: t.created_at)

    def revoke(self, user: str, token_id: str) -> None:
        """End one of ``user``'s tokens.

        Raises:
            UserError: ``user`` has no token with this id.
        """
        digest = self._r.hget(_index(user), token_id)
        if digest is None:
            raise UserError(f"{user!r} has no token {token_id!r} (see `waybill user tokens`)")
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(token_key(text(digest)))
        pipe.hdel(_index(user), token_id)
        pipe.execute()

    def revoke_all(self, user: str) -> int:
        """End every token of ``user``; returns how many there were."""
        digests = [text(d) for d in self._r.hvals(_index(user))]
        pipe = self._r.pipeline(transaction=True)
        for digest in digests:
            pipe.delete(token_key(digest))
        pipe.delete(_index(user))
        pipe.execute()
        return len(digests)


def _info(fields: dict[str, str]) -> TokenInfo:
    return TokenInfo(
        id=fields["id"],
        user=fields["user"],
        label=fields.get("label", ""),
        created_at=from_epoch(fields.get("created_at") or 0),
    )

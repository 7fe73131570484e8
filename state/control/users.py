"""Console users: names, roles and salted password hashes, plus a login throttle.

A user is the hash ``wb:user:<name>`` (``name``, ``role``, ``email``, ``password``,
``created_at``), listed in the set ``wb:users``; ``wb:users:email`` maps an e-mail address to a
name (used when the console signs users in through OIDC and only knows their e-mail), so an
address belongs to one user only (``state.control.user_emails``).

Passwords are hashed with scrypt from the standard library (a memory-hard KDF), with a random
16-byte salt per password, and compared in constant time. ``verify`` does the same work for an
unknown user as for a known one, so response time does not reveal which names exist.

Repeated failures slow logins down (``state.control.throttle``): each failure for a name
(and, separately, for a client address) is counted in Redis for ``window_s``; after
``free_attempts`` failures every further attempt must wait an exponentially growing delay
(capped at ``max_delay_s``) before it is even checked. The check and the count are one atomic
step, and the counters live in Redis, so neither parallel attempts nor several console
processes get more checks than that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import redis

from state.clock import utcnow
from state.control.connection import text, texts
from state.control.models import from_epoch, to_epoch
from state.control.throttle import LoginThrottle
from state.control.user_emails import EmailIndex, email_taken, is_email
from state.errors import WaybillError
from state.keys import global_key
from state.roles import ROLES, Role

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MIN_PASSWORD = 8

_USERS = global_key("users")


def user_key(name: str) -> str:
    """The hash holding one user."""
    return global_key("user", name)


class UserError(WaybillError, ValueError):
    """A refused user-store operation; the message is one line for the person at the keyboard."""


@dataclass(frozen=True)
class User:
    """A console user as the console sees it (never the password hash)."""

    name: str
    role: Role
    email: str | None
    created_at: datetime


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters (the defaults follow the scrypt paper's interactive-login set)."""

    n: int = 2**14
    r: int = 8
    p: int = 1


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    """``scrypt$n$r$p$<salt>$<hash>`` (base64) of ``password`` with a fresh random salt."""
    p = params or ScryptParams()
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=p.n, r=p.r, p=p.p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${p.n}${p.r}${p.p}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt: ``user`` on success, else ``retry_after_s`` >= 0."""

    user: User | None
    retry_after_s: float = 0.0
    throttled: bool = False
    """True when the attempt was refused without checking the password (too many failures)."""


class UserStore:
    """Add, read, list users, change roles, verify passwords (with the login throttle).

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
        params: scrypt cost for new hashes (tests may lower it).
        free_attempts: Failures allowed before attempts are delayed.
        base_delay_s: Delay after the first failure beyond the free ones; doubles per failure.
        max_delay_s: Longest delay.
        window_s: How long a failure is remembered.
        audit_per_minute: Failed logins the console audits per minute (see ``LoginThrottle``).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        params: ScryptParams | None = None,
        free_attempts: int = 3,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        window_s: int = 900,
        audit_per_minute: int = 30,
    ) -> None:
        self._r = client
        self.emails = EmailIndex(client)
        self.params = params or ScryptParams()
        self.throttle = LoginThrottle(
            client,
            free_attempts=free_attempts,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            window_s=window_s,
            audit_per_minute=audit_per_minute,
        )
        self._dummy = hash_password(secrets.token_hex(8), self.params)

    # --- users ---------------------------------------------------------------------------------

    def add(
        self, name: str, role: Role, password: str | None = None, *, email: str | None = None
    ) -> User:
        """Create a user; ``password=None`` makes an OIDC-only user (no password login).

        Raises:
            UserError: Bad name, role, password or e-mail, the name is taken, or the e-mail
                belongs to another user.
        """
        check_new_user(name, role, email)
        if password is not None and len(password) < MIN_PASSWORD:
            raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
        now = utcnow()
        fields = {
            "name": name,
            "role": role,
            "email": email or "",
            "password": hash_password(password, self.params) if password is not None else "",
            "created_at": repr(to_epoch(now)),
        }
        if not self._r.hsetnx(user_key(name), "name", name):
            raise UserError(f"user {name!r} already exists")
        if email and (owner := self.emails.claim(email, name)) is not None:
            self._r.delete(user_key(name))  # give the name back: the user is not added
            raise UserError(email_taken(email, owner))
        # The user's hash, then the index (other slots on a Redis Cluster: no MULTI).
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(user_key(name), mapping=fields)  # type: ignore[arg-type]
        pipe.sadd(_USERS, name)
        pipe.execute()
        return User(name=name, role=role, email=email, created_at=now)

    def get(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        fields = self._r.hgetall(user_key(name))
        return _user({text(k): text(v) for k, v in fields.items()}) if fields else None

    def find_by_email(self, email: str) -> User | None:
        """The user with this e-mail (or whose name is this e-mail), or ``None``."""
        name = self.emails.owner(email)
        return self.get(name) if name is not None else None

    def list(self) -> list[User]:
        """Every user, sorted by name."""
        names = sorted(texts(self._r.smembers(_USERS)))
        pipe = self._r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(user_key(name))
        out = []
        for fields in pipe.execute() if names else []:
            if fields:
                out.append(_user({text(k): text(v) for k, v in fields.items()}))
        return out

    def check_available(self, name: str, email: str | None = None) -> None:
        """Refuse a taken name, or an e-mail of another user's, before anyone is asked for a
        password (``add`` checks again, atomically).

        Raises:
            UserError: The name is taken, or the e-mail belongs to another user.
        """
        if self._r.exists(user_key(name)):
            raise UserError(f"user {name!r} already exists")
        if email and (owner := self.emails.owner(email)) not in (None, name):
            raise UserError(email_taken(email, str(owner)))

    def set_role(self, name: str, role: Role) -> User:
        """Change a user's role (takes effect at their next page view)."""
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}: use {', '.join(ROLES)}")
        if not self._r.exists(user_key(name)):
            raise UserError(f"no user {name!r}")
        self._r.hset(user_key(name), "role", role)
        user = self.get(name)
        assert user is not None
        return user

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password."""
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
        if not self._r.exists(user_key(name)):
            raise UserError(f"no user {name!r}")
        self._r.hset(user_key(name), "password", hash_password(password, self.params))

    def verify(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else ``None`` (no throttle: see ``login``)."""
        fields = {text(k): text(v) for k, v in self._r.hgetall(user_key(name)).items()}
        stored = fields.get("password") or ""
        # Same scrypt work whether or not the user exists (or has a password).
        ok = check_password(password, stored or self._dummy) and bool(stored)
        return _user(fields) if ok else None

    # --- login throttle ------------------------------------------------------------------------

    def retry_after(self, name: str, client_ip: str | None = None) -> float:
        """Seconds until a login for ``name`` (from ``client_ip``) may be tried again."""
        return self.throttle.retry_after(throttle_subject(name), client_ip)

    def login(self, name: str, password: str, client_ip: str | None = None) -> LoginResult:
        """Check a password, throttled: a delayed attempt is refused before any check.

        The throttle reserves the attempt atomically before the (slow) password check, so
        parallel attempts cannot get more checks than the allowance.
        """
        subject = throttle_subject(name)
        attempt = self.throttle.begin(subject, client_ip)
        if not attempt.allowed:
            return LoginResult(None, retry_after_s=attempt.wait_s, throttled=True)
        user = self.verify(name, password)
        if user is not None:
            self.throttle.succeeded(subject, client_ip)
            return LoginResult(user)
        return LoginResult(None, retry_after_s=attempt.wait_s)


def check_new_user(name: str, role: str, email: str | None = None) -> None:
    """Refuse a new user's bad name, role or e-mail (before anyone is asked for a password).

    Raises:
        UserError: The name, role or e-mail is not valid.
    """
    if not NAME_RE.match(name):
        raise UserError(f"invalid user name {name!r}: letters, digits and . _ @ + - (up to 64)")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use {', '.join(ROLES)}")
    if email is not None and not is_email(email):
        raise UserError(f"invalid e-mail {email!r}: use the form local@domain")


def throttle_subject(name: str) -> str:
    """Whose failures an attempt counts against: the lower-cased name if it could be a user.

    Every name that cannot be a user shares one counter, so invented names (of any length)
    add no keys.
    """
    return name.lower() if NAME_RE.match(name) else "<not-a-user-name>"


def _user(fields: dict[str, str]) -> User:
    role = fields.get("role", "viewer")
    return User(
        name=fields["name"],
        role=role if role in ROLES else "viewer",
        email=fields.get("email") or None,
        created_at=from_epoch(fields.get("created_at") or 0),
    )

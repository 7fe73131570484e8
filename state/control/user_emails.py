"""Console users' e-mail addresses: the form one must have, and who each one belongs to.

OIDC sign-in knows only the address, so an address belongs to at most one user:
``wb:users:email`` maps each address (lower-cased) to that user's name, and a user whose *name*
is the address owns it too (``UserStore.find_by_email`` falls back to names). Were an address
indexed for a second user, signing in with it would become that user while the first still
listed it.
"""

from __future__ import annotations

import re

import redis

from state.control.connection import text
from state.keys import global_key

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
"""``local@domain``: a deliberately simple check (ASCII; no spaces, double quotes or control
characters) that catches a typo, not a full RFC 5322 parser."""
MAX_EMAIL = 254

_EMAILS = global_key("users", "email")


def is_email(value: str) -> bool:
    """True when ``value`` has the form ``local@domain`` (see ``EMAIL_RE``)."""
    return len(value) <= MAX_EMAIL and EMAIL_RE.match(value) is not None


def email_taken(email: str, owner: str) -> str:
    """The one-line refusal of ``email``, which belongs to the user ``owner``."""
    return f"e-mail {email!r} already belongs to user {owner!r}: an address has one user"


class EmailIndex:
    """The map from e-mail address to the one user it belongs to.

    Args:
        client: A client from ``connect`` (``decode_responses=True``).
    """

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def owner(self, email: str) -> str | None:
        """The name of the user ``email`` belongs to (indexed, or their name), or ``None``."""
        name = text(self._r.hget(_EMAILS, email.lower()))
        return name or (email if self._named(email) else None)

    def claim(self, email: str, name: str) -> str | None:
        """Index ``email`` for the user ``name`` unless it belongs to someone else.

        The index entry is set only if absent (atomic), so of two users added at once with one
        address, only one gets it.

        Returns:
            ``None`` when ``email`` is now ``name``'s, else the name of the user it belongs to.
        """
        if email != name and self._named(email):
            return email  # a user is called by this address: signing in with it is theirs
        if self._r.hsetnx(_EMAILS, email.lower(), name):
            return None
        owner = text(self._r.hget(_EMAILS, email.lower()))
        return None if owner == name else owner

    def _named(self, email: str) -> bool:
        """True when a user is called ``email`` (``state.control.users.user_key``)."""
        return bool(self._r.exists(global_key("user", email)))

"""Approver groups: who belongs to which group (a stage's ``owner`` names one).

A group is the set ``wb:{groups}:members:<name>`` of user names, listed in ``wb:{groups}:all``;
each user's groups are the set ``wb:{groups}:of:<name>`` (one hash tag: a transaction writes them
together, on a Redis Cluster too). A group exists while it has members. Only users of the user
store can join; removing a user from every group is ``leave_all``.
"""

from __future__ import annotations

import re

import redis

from state.control.connection import texts
from state.control.users import UserError, user_key
from state.keys import family_key

GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_GROUPS = family_key("groups", "all")


def group_key(name: str) -> str:
    """The set of a group's members."""
    return family_key("groups", "members", name)


def _of_key(user: str) -> str:
    return family_key("groups", "of", user)


def check_group_name(name: str) -> str:
    """``name`` if it can name a group.

    Raises:
        UserError: It cannot (one line, naming the rule).
    """
    if not GROUP_RE.match(name):
        raise UserError(f"invalid group name {name!r}: letters, digits and . _ - (up to 64)")
    return name


class GroupStore:
    """Join and leave groups, list members and groups."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def join(self, user: str, group: str) -> bool:
        """Add ``user`` to ``group``; False when already a member.

        Raises:
            UserError: Unknown user or invalid group name.
        """
        check_group_name(group)
        if not self._r.exists(user_key(user)):
            raise UserError(f"no user {user!r}")
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(group_key(group), user)
        pipe.sadd(_of_key(user), group)
        pipe.sadd(_GROUPS, group)
        added = pipe.execute()[0]
        return bool(added)

    def leave(self, user: str, group: str) -> None:
        """Remove ``user`` from ``group``.

        Raises:
            UserError: Unknown group, or ``user`` is not in it.
        """
        if not self._r.sismember(_GROUPS, group):
            raise UserError(f"no group {group!r}")
        if not self._r.sismember(group_key(group), user):
            raise UserError(f"{user!r} is not in group {group!r}")
        pipe = self._r.pipeline(transaction=True)
        pipe.srem(group_key(group), user)
        pipe.srem(_of_key(user), group)
        pipe.execute()
        if not self._r.scard(group_key(group)):
            self._r.srem(_GROUPS, group)

    def members(self, group: str) -> list[str]:
        """The group's members, sorted (empty for an unknown group)."""
        return sorted(texts(self._r.smembers(group_key(group))))

    def is_member(self, user: str, group: str) -> bool:
        """Whether ``user`` belongs to ``group``."""
        return bool(self._r.sismember(group_key(group), user))

    def groups_of(self, user: str) -> list[str]:
        """The groups ``user`` belongs to, sorted."""
        return sorted(texts(self._r.smembers(_of_key(user))))

    def names(self) -> list[str]:
        """Every group that has members, sorted."""
        return sorted(texts(self._r.smembers(_GROUPS)))

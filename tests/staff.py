"""Test users and their approver groups, in the test's own Redis.

The reference workflows' stages are owned by groups (procurement: procurement-desk, warehouse,
buyers, finance); a decision needs a member of the owning group, so the approvers the tests
decide with are put in those groups here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from state.control.plane import ControlPlane
from state.control.users import ScryptParams, UserStore
from state.roles import Role

PASSWORD = "correct-horse"
PROCUREMENT_GROUPS = ("procurement-desk", "warehouse", "buyers", "finance")


def add_staff(
    cp: ControlPlane,
    roles: Mapping[str, Role],
    groups: Mapping[str, Iterable[str]] | None = None,
    password: str = PASSWORD,
) -> UserStore:
    """Create the users that do not exist yet and put them in their groups (idempotent)."""
    users = UserStore(cp.client, params=ScryptParams(n=2**10))
    for name, role in roles.items():
        if users.get(name) is None:
            users.add(name, role, password)
    for name, names in (groups or {}).items():
        for group in names:
            cp.groups.join(name, group)
    return users


def token_for(
    url: str, name: str, role: Role, groups: Iterable[str] = (), label: str = "tests"
) -> str:
    """An API token for ``name`` (created with ``role`` and ``groups`` if needed)."""
    cp = ControlPlane.from_url(url)
    try:
        add_staff(cp, {name: role}, {name: groups})
        token, _ = cp.tokens.issue(name, label)
        return token
    finally:
        cp.close()

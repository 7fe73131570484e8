"""Who may do what in the console and the CLI: the roles, weakest first."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "approver", "admin"]
"""viewer reads; approver also starts runs and decides escalations; admin also trips kill
switches and manages users."""

ROLES: tuple[Role, ...] = get_args(Role)
ROLE_RANK: dict[Role, int] = {role: rank for rank, role in enumerate(ROLES)}

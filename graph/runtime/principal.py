"""Who acts on runs, and the errors of a refused operation (one line each, for the user)."""

from __future__ import annotations

from dataclasses import dataclass

from state.errors import WaybillError
from state.roles import ROLE_RANK, Role


@dataclass(frozen=True)
class Principal:
    """Who is acting: an authenticated user (console session or CLI token), or the system.

    The console and the command line build one only for a user they authenticated, with the
    role the user store holds for them now.
    """

    name: str
    role: Role
    via: str = ""
    """How they authenticated (``console``, ``cli token <id>``), kept in the audit log."""
    system: bool = False
    """The system acting on its own: a veto window that ended, a deadline that passed. It is
    not in any group and never approves an ``approve``-tier action."""

    def can(self, needed: Role) -> bool:
        """Whether this principal's role ranks at least ``needed`` (admin > approver > viewer)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[needed]


SYSTEM = Principal("system:veto-window", "approver", system=True)
"""Lets a notify-tier action proceed when its veto window passed without a veto."""

DEADLINE = Principal("system:deadline", "approver", system=True)
"""Applies a decision deadline's safe default (a reject) when nobody decided in time."""


class ServiceError(WaybillError):
    """A refused operation; the message is one line for the user."""


class Forbidden(ServiceError):  # noqa: N818 - reads as the HTTP status it mirrors
    """The principal's role does not allow the operation (the attempt is audited)."""


class NotInGroup(Forbidden):
    """The user is not in the group that decides the escalation (the attempt is audited)."""


class FourEyes(Forbidden):
    """The run's starter tried to approve its own action (the attempt is audited)."""


class ScopeKilled(ServiceError):  # noqa: N818
    """A kill switch covers what was asked (e.g. starting a run of a killed workflow)."""


class NothingToStop(ServiceError):  # noqa: N818
    """A switch would stop nothing: its workflow or stage is unknown (a typo), its run is over."""


class EditInvalid(ServiceError):  # noqa: N818
    """An edited payload does not satisfy the contract; ``errors`` maps field to message."""

    def __init__(self, contract: str, errors: dict[str, str]) -> None:
        self.contract = contract
        self.errors = errors
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"the edit is not a valid {contract}: {detail}")


class InputTooLarge(ServiceError):  # noqa: N818
    """A run's input, an edited payload or a fork's values is over ``WAYBILL_MAX_INPUT_BYTES``
    (nothing was stored)."""


class UnknownTarget(ServiceError):  # noqa: N818
    """A switch to clear names a run, workflow or stage that does not exist (a typo), and no
    switch is set on it: nothing was cleared."""

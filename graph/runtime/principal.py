"""Who acts on runs, and the errors of a refused operation (one line each, for the user)."""

from __future__ import annotations

from dataclasses import dataclass

from state.errors import WaybillError
from state.roles import ROLE_RANK, Role


@dataclass(frozen=True)
class Principal:
    """Who is acting: an authenticated console user, or an operator at the command line."""

    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        """Whether this principal's role ranks at least ``needed`` (admin > approver > viewer)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[needed]


SYSTEM = Principal("system:veto-window", "approver")
"""Lets a notify-tier action proceed when its veto window passed without a veto."""


class ServiceError(WaybillError):
    """A refused operation; the message is one line for the user."""


class Forbidden(ServiceError):  # noqa: N818 - reads as the HTTP status it mirrors
    """The principal's role does not allow the operation (the attempt is audited)."""


class ScopeKilled(ServiceError):  # noqa: N818
    """A kill switch covers what was asked (e.g. starting a run of a killed workflow)."""


class EditInvalid(ServiceError):  # noqa: N818
    """An edited payload does not satisfy the contract; ``errors`` maps field to message."""

    def __init__(self, contract: str, errors: dict[str, str]) -> None:
        self.contract = contract
        self.errors = errors
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"the edit is not a valid {contract}: {detail}")

"""The control plane: runs, events, escalations, kill switches, audit log and leases in Redis.

Start from ``ControlPlane`` (``state.control.plane``) over a client from ``connect``; every
piece is also usable on its own. Importing this package opens no connection.
"""

from state.control.connection import connect, mask_url
from state.control.errors import (
    AuditContention,
    ControlPlaneError,
    EscalationConflict,
    InvalidTransition,
    LeaseHeld,
    LeaseLost,
    RedisUnavailable,
    RunExists,
    RunFinished,
    UnknownEscalation,
    UnknownRun,
)
from state.control.plane import ControlPlane

__all__ = [
    "AuditContention",
    "ControlPlane",
    "ControlPlaneError",
    "EscalationConflict",
    "InvalidTransition",
    "LeaseHeld",
    "LeaseLost",
    "RedisUnavailable",
    "RunExists",
    "RunFinished",
    "UnknownEscalation",
    "UnknownRun",
    "connect",
    "mask_url",
]

"""Errors of the control plane: each one names what was refused and why, in one line."""

from __future__ import annotations

from state.errors import WaybillError


class ControlPlaneError(WaybillError):
    """Base class of every error raised by ``state.control``."""


class RedisUnavailable(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """Redis could not be reached (or refused us); the message is one line naming the URL."""


class InvalidArgument(ControlPlaneError, ValueError):  # noqa: N818 - reads better at the call site
    """A bad argument to a control-plane call (a negative page, an empty user, ...)."""


class InvalidRunId(InvalidArgument):
    """A new run's id is outside the safe alphabet (``state.keys.RUN_ID_PATTERN``)."""

    def __init__(self, run_id: str) -> None:
        shown = run_id if len(run_id) <= 80 else run_id[:77] + "..."
        super().__init__(f"invalid run id {shown!r}: use 1 to 64 letters, digits, '_' or '-'")
        self.run_id = run_id


class UnknownRun(ControlPlaneError, KeyError):  # noqa: N818 - reads better at the call site
    """No run with this id is registered."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def __str__(self) -> str:
        return f"unknown run {self.run_id!r}"


class DamagedRun(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """A run's record in Redis cannot be read: a field is missing or invalid, or its key holds
    another type (written by hand, or damaged). Listings skip the run and name it."""

    def __init__(self, run_id: str, problem: str) -> None:
        super().__init__(f"run {run_id}: record is damaged ({problem})")
        self.run_id = run_id
        self.problem = problem


class RunExists(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """A run with this id is already registered."""


class InvalidTransition(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """A status change the run lifecycle does not allow (e.g. from a terminal status)."""


class RunFinished(InvalidTransition):
    """The run's status is terminal (finished or killed): nothing may change it or decide for it."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"run {run_id!r} is already {status}; it cannot be changed or resumed")
        self.run_id = run_id
        self.status = status


class UnknownEscalation(ControlPlaneError, KeyError):  # noqa: N818 - reads better at the call site
    """No escalation with this id exists."""

    def __init__(self, escalation_id: str) -> None:
        super().__init__(escalation_id)
        self.escalation_id = escalation_id

    def __str__(self) -> str:
        return f"unknown escalation {self.escalation_id!r}"


class EscalationConflict(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """The escalation was already decided; names who decided, what, and when."""

    def __init__(self, escalation_id: str, decided_by: str, action: str, decided_at: str) -> None:
        super().__init__(
            f"escalation {escalation_id!r} was already decided ({action}) "
            f"by {decided_by!r} at {decided_at}"
        )
        self.escalation_id = escalation_id
        self.decided_by = decided_by
        self.action = action
        self.decided_at = decided_at


class LeaseHeld(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """Another holder has a live lease on the run."""

    def __init__(self, run_id: str, holder: str, ttl_ms: int) -> None:
        super().__init__(f"run {run_id!r} is leased by {holder!r} for another {ttl_ms} ms")
        self.run_id = run_id
        self.holder = holder
        self.ttl_ms = ttl_ms


class LeaseLost(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """The caller's fencing token is no longer the run's current one: stop advancing the run."""

    def __init__(self, run_id: str, token: int, current: int | None) -> None:
        super().__init__(
            f"lease on run {run_id!r} lost: token {token} is stale (current is {current})"
        )
        self.run_id = run_id
        self.token = token
        self.current = current


class AuditContention(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """An audit append could not win the head of the chain after many retries."""


class DuplicateApproval(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """The same user approved an escalation that needs several approvals twice."""

    def __init__(self, escalation_id: str, user: str, count: int, needed: int) -> None:
        super().__init__(
            f"{user} already approved escalation {escalation_id!r} ({count} of {needed} "
            "approvals so far): another approver must give the next one"
        )
        self.escalation_id = escalation_id
        self.user = user
        self.count = count
        self.needed = needed


class EscalationMoved(ControlPlaneError):  # noqa: N818 - reads better at the call site
    """The escalation's deciding group changed (a deadline handed it over) while deciding."""

    def __init__(self, escalation_id: str, group: str) -> None:
        super().__init__(
            f"escalation {escalation_id!r} was handed over to group {group!r} meanwhile: "
            "nothing was decided"
        )
        self.escalation_id = escalation_id
        self.group = group

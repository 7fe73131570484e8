"""The operating envelope of an action: rules that raise its tier (``auto`` -> ``notify`` ->
``approve``) when they hold for the output it would act on.

A rule is code (``@envelope``), or a limit on one numeric field (:func:`above`). A limit can be
changed at run time, per workflow, by an admin adopting an insight (``state.control.limits``;
audited): a run reads the workflow's adopted limits when it starts or resumes. Either kind may
ask for more than one approver (``approvals=2``), name the group that decides
(``group="finance"``, instead of the stage's owner) and set a decision deadline with its safe
default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from state.contracts import Contract
from state.decisions import DecisionDeadline, Tier

OutT = TypeVar("OutT", bound=Contract)


@dataclass(frozen=True)
class EnvelopeRule(Generic[OutT]):
    """A rule of the operating envelope that raises an action's tier when it holds."""

    name: str
    when: Callable[[OutT], bool]
    raise_to: Tier
    reason: str
    field: str = ""
    """For a limit: the numeric field of the output it compares."""
    limit: float | None = None
    """For a limit: the value above which the rule holds (unless an adopted limit replaces it)."""
    approvals: int = 1
    """Distinct approvals an ``approve`` needs while the rule holds (M of the group)."""
    group: str | None = None
    """The approver group that decides while the rule holds (default: the stage's owner)."""
    deadline: DecisionDeadline | None = None
    """How long the approvers have, and the safe default after that."""

    def holds(self, output: OutT, limits: Mapping[str, float] | None = None) -> bool:
        """True when the rule raises the tier for ``output`` (``limits``: adopted limits by
        rule name, which replace a limit rule's declared one)."""
        if self.limit is None:
            return self.when(output)
        value = getattr(output, self.field)
        return float(value) > (limits or {}).get(self.name, self.limit)


def envelope(
    raise_to: Tier,
    reason: str,
    *,
    approvals: int = 1,
    group: str | None = None,
    deadline: DecisionDeadline | None = None,
) -> Callable[[Callable[[OutT], bool]], EnvelopeRule[OutT]]:
    """Decorator: the function is the rule's condition, its name the rule's name.

    Example:
        >>> @envelope("approve", "above 50,000: two of finance", approvals=2, group="finance")
        ... def very_large(out: OrderPlaced) -> bool: ...
    """

    def make(when: Callable[[OutT], bool]) -> EnvelopeRule[OutT]:
        return EnvelopeRule(
            when.__name__,
            when,
            raise_to,
            reason,
            approvals=approvals,
            group=group,
            deadline=deadline,
        )

    return make


def above(
    contract: type[OutT],
    field: str,
    limit: float,
    raise_to: Tier,
    reason: str,
    *,
    name: str,
    approvals: int = 1,
    group: str | None = None,
    deadline: DecisionDeadline | None = None,
) -> EnvelopeRule[OutT]:
    """A rule that holds when the ``contract``'s numeric ``field`` is above ``limit``: the one
    kind of rule an insight can propose to move, and an admin can move without a deploy
    (``approvals``, ``group``, ``deadline``: as for :func:`envelope`).

    Example:
        >>> above(OrderPlaced, "total", 5000, "approve", "too much", name="amount_over_limit")

    Raises:
        ValueError: ``contract`` has no field ``field`` (a typo would never hold).
    """
    if field not in contract.model_fields:
        raise ValueError(f"envelope rule {name!r}: {contract.__name__} has no field {field!r}")

    def when(output: OutT) -> bool:
        return float(getattr(output, field)) > limit

    return EnvelopeRule(
        name,
        when,
        raise_to,
        reason,
        field,
        limit,
        approvals=approvals,
        group=group,
        deadline=deadline,
    )

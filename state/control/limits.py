"""Adopted envelope limits: per workflow, the value that replaces a limit rule's declared one
(``graph.envelope.above``). Set only by an admin adopting an insight (audited by the caller);
read by a run when it starts or resumes."""

from __future__ import annotations

import redis

from state.control.connection import text
from state.keys import global_key


def limits_key(workflow: str) -> str:
    """The hash of a workflow's adopted limits (rule name -> value)."""
    return global_key("limits", workflow)


class Limits:
    """Read and set the adopted limits of workflows."""

    def __init__(self, client: redis.Redis) -> None:
        self._r = client

    def of(self, workflow: str) -> dict[str, float]:
        """The workflow's adopted limits by rule name (empty: every rule as declared)."""
        raw = self._r.hgetall(limits_key(workflow))
        return {text(k): float(text(v)) for k, v in raw.items()}

    def set(self, workflow: str, rule: str, value: float) -> None:
        """Adopt ``value`` as the limit of ``rule`` in ``workflow``, for runs from now on."""
        self._r.hset(limits_key(workflow), rule, repr(float(value)))

    def clear(self, workflow: str, rule: str) -> None:
        """Go back to the rule's declared limit."""
        self._r.hdel(limits_key(workflow), rule)

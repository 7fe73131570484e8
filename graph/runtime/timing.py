"""The timing knobs of run execution, as the process's settings set them."""

from __future__ import annotations

from dataclasses import dataclass

from state.settings import Settings


@dataclass(frozen=True)
class ExecutorConfig:
    """Timing knobs of run execution."""

    lease_ttl_s: float = 10.0
    kill_grace_s: float = 5.0
    veto_window_s: float = 30.0
    recursion_limit: int = 200
    redis_outage_s: float = 60.0
    """How long a run waits for a Redis that went away, to resume from its last checkpoint;
    a longer outage fails the run, recorded as soon as Redis answers."""
    max_attempts: int = 3
    """Executions from the same checkpoint before the run is recorded failed (poison run)."""

    @classmethod
    def from_settings(cls, s: Settings) -> ExecutorConfig:
        """The knobs as the process's settings set them."""
        return cls(
            lease_ttl_s=s.lease_ttl_s,
            kill_grace_s=s.kill_grace_s,
            veto_window_s=s.veto_window_s,
            recursion_limit=s.recursion_limit,
            max_attempts=s.max_attempts,
            redis_outage_s=s.redis_outage_s,
        )

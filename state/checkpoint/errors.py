"""Exceptions raised by the Redis checkpointer."""

from __future__ import annotations

from state.errors import WaybillError


class CheckpointerError(WaybillError):
    """Base class of every error the Redis checkpointer raises on purpose."""


class StaleFenceError(CheckpointerError):
    """A write was refused because the saver's fencing token is no longer the run's current one.

    Another worker has taken the run's lease since this saver's token was issued; nothing was
    written. The holder of a stale token must stop advancing the run.
    """

    def __init__(self, thread_id: str, token: int) -> None:
        self.thread_id = thread_id
        self.token = token
        super().__init__(
            f"stale fencing token {token} for thread {thread_id!r}: another worker holds the "
            "run's lease now; nothing was written"
        )


class UnsafeCheckpointDataError(CheckpointerError):
    """Stored data uses an encoding the strict serializer refuses to load (pickle, legacy json)."""


class DamagedCheckpointError(CheckpointerError):
    """Stored checkpoint data cannot be decoded: edited, truncated, or of the wrong shape.

    Nothing is loaded from it; the message names what is wrong (and, from the readers in
    ``graph.runtime.history`` and ``graph.runtime.replay``, the run).
    """

"""Where a run stands: its statuses and the changes between them, defined once."""

from __future__ import annotations

from typing import Literal, get_args

RunStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "rejected", "killed"]
"""Lifecycle of a run: ``queued -> running -> waiting -> running -> <terminal>``."""

GraphStatus = Literal["running", "succeeded", "failed", "rejected", "killed"]
"""The statuses a run's graph state holds (the registry adds ``queued`` and ``waiting``)."""

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
TERMINAL_STATUSES: frozenset[RunStatus] = frozenset({"succeeded", "failed", "rejected", "killed"})

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    "queued": frozenset({"queued", "running", "failed", "rejected", "killed"}),
    "running": frozenset(
        {"running", "waiting", "queued", "succeeded", "failed", "rejected", "killed"}
    ),
    "waiting": frozenset({"waiting", "running", "queued", "failed", "rejected", "killed"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "rejected": frozenset(),
    "killed": frozenset(),
}
"""Allowed ``from -> to`` status changes. Terminal statuses allow nothing: they are final.

``running -> queued`` and ``waiting -> queued`` exist for a run handed back to the queue (a
retry after a worker died, a resume enqueued after a decision).
"""

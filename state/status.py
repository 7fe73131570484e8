"""Where a run stands: its statuses and the changes between them, defined once."""

from __future__ import annotations

from typing import Literal, get_args

RunStatus = Literal[
    "queued", "running", "waiting", "held", "succeeded", "failed", "rejected", "killed"
]
"""Lifecycle of a run: ``queued -> running -> waiting -> running -> <terminal>``; a hold switch
parks a run as ``held`` (not an end: released, it is queued again)."""

GraphStatus = Literal["running", "succeeded", "failed", "rejected", "killed"]
"""The statuses a run's graph state holds (the registry adds ``queued`` and ``waiting``)."""

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
TERMINAL_STATUSES: frozenset[RunStatus] = frozenset({"succeeded", "failed", "rejected", "killed"})

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    "queued": frozenset({"queued", "running", "held", "failed", "rejected", "killed"}),
    "running": frozenset(
        {"running", "waiting", "queued", "held", "succeeded", "failed", "rejected", "killed"}
    ),
    "waiting": frozenset({"waiting", "running", "queued", "failed", "rejected", "killed"}),
    "held": frozenset({"held", "queued", "failed", "killed"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "rejected": frozenset(),
    "killed": frozenset(),
}
"""Allowed ``from -> to`` status changes. Terminal statuses allow nothing: they are final.

``running -> queued`` and ``waiting -> queued`` exist for a run handed back to the queue (a
retry after a worker died, a worker that drains, a resume enqueued after a decision). A run is
``held`` at a node boundary (``running``) or before it starts (``queued``); a waiting run stays
waiting (a decision may still come) and is held when it resumes. A held run goes on only
through ``queued``: releasing its last hold queues it again, and a job of it found meanwhile
(a queued run held at once keeps its job) starts nothing.
"""

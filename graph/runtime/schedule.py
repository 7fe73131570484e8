"""Timers of waiting runs, kept in Redis: veto windows, decision reminders and deadlines.

Each is an RQ job scheduled at its time (``Queue.enqueue_at``: a sorted set in the same Redis,
run by whichever worker holds RQ's scheduler lock), so it survives worker restarts and, with
Redis's AOF, Redis restarts. Job ids are derived from the escalation and the deadline round, so
scheduling the same timer again replaces it instead of adding a second one; the jobs themselves
do nothing when the escalation was decided, held, handed over or its run ended meanwhile.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Protocol

from rq import Queue

VETO_JOB = "graph.runtime.jobs.veto_window_elapsed"
REMINDER_JOB = "graph.runtime.deadline_jobs.reminder_due"
DEADLINE_JOB = "graph.runtime.deadline_jobs.deadline_passed"


class Scheduler(Protocol):
    """Schedules the timers of a waiting run's escalation."""

    def veto_window(self, run_id: str, escalation_id: str, at: datetime) -> None:
        """The end of a notify-tier action's veto window."""

    def reminder(self, run_id: str, escalation_id: str, round_no: int, at: datetime) -> None:
        """A reminder before the decision deadline of ``round_no``."""

    def deadline(self, run_id: str, escalation_id: str, round_no: int, at: datetime) -> None:
        """The decision deadline of ``round_no`` (its safe default applies then)."""


def timer_id(kind: str, escalation_id: str, round_no: int = 0) -> str:
    """A stable RQ job id (letters, digits, ``-``) for one timer of one escalation."""
    digest = hashlib.sha256(escalation_id.encode()).hexdigest()[:24]
    return f"wb-{kind}-{digest}-{round_no}"


def not_before(at: datetime) -> datetime:
    """``at`` rounded up to a whole second: RQ keeps scheduled times in whole seconds (rounded
    down), and a timer must never fire before its time."""
    return datetime.fromtimestamp(math.ceil(at.timestamp()), UTC)


class RqScheduler:
    """:class:`Scheduler` on an RQ queue's scheduled-job registry (never early: see
    :func:`not_before`)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def veto_window(self, run_id: str, escalation_id: str, at: datetime) -> None:
        """See :class:`Scheduler`."""
        job_id = timer_id("veto", escalation_id)
        self.queue.enqueue_at(not_before(at), VETO_JOB, run_id, escalation_id, job_id=job_id)

    def reminder(self, run_id: str, escalation_id: str, round_no: int, at: datetime) -> None:
        """See :class:`Scheduler`."""
        job_id = timer_id("remind", escalation_id, round_no)
        args = (run_id, escalation_id, round_no)
        self.queue.enqueue_at(not_before(at), REMINDER_JOB, *args, job_id=job_id)

    def deadline(self, run_id: str, escalation_id: str, round_no: int, at: datetime) -> None:
        """See :class:`Scheduler`."""
        job_id = timer_id("deadline", escalation_id, round_no)
        args = (run_id, escalation_id, round_no)
        self.queue.enqueue_at(not_before(at), DEADLINE_JOB, *args, job_id=job_id)

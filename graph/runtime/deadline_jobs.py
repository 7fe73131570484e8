"""RQ jobs of decision deadlines: the reminder before, and the deadline itself.

Scheduled by ``graph.runtime.schedule.RqScheduler`` when a run starts waiting; they only need
ids, and do nothing when the escalation was decided, held or handed over meanwhile.
"""

from __future__ import annotations

from rq import Queue
from rq.job import get_current_job

from graph.runtime import deadlines
from graph.runtime.schedule import RqScheduler
from graph.runtime.worker import make_service, text_client
from state.control.plane import ControlPlane
from state.settings import get_settings


def reminder_due(run_id: str, escalation_id: str, round_no: int) -> str:
    """RQ job: remind the deciding group that an escalation waits (once per round)."""
    job = get_current_job()
    assert job is not None
    cp = ControlPlane(text_client(job.connection))
    queue = Queue(get_settings().queue_name, connection=job.connection)
    try:
        sent = deadlines.remind(make_service(cp, queue), run_id, escalation_id, round_no)
        return "reminded" if sent else "no reminder: decided, held, handed over or already sent"
    finally:
        cp.close()


def deadline_passed(run_id: str, escalation_id: str, round_no: int) -> str:
    """RQ job: apply the deadline's safe default (reject, hold or hand over)."""
    job = get_current_job()
    assert job is not None
    cp = ControlPlane(text_client(job.connection))
    queue = Queue(get_settings().queue_name, connection=job.connection)
    try:
        service = make_service(cp, queue)
        done = deadlines.deadline_passed(
            service, run_id, escalation_id, round_no, RqScheduler(queue)
        )
        return done or "nothing to do: decided, held or handed over meanwhile"
    finally:
        cp.close()

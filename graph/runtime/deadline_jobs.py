"""RQ jobs of decision deadlines: the reminder before, and the deadline itself.

Scheduled by ``graph.runtime.schedule.RqScheduler`` when a run starts waiting; they only need
ids, and do nothing when the escalation was decided, held or handed over meanwhile.
"""

from __future__ import annotations

from graph.runtime import deadlines
from graph.runtime.jobs import make_service, work_context
from graph.runtime.schedule import RqScheduler


def reminder_due(run_id: str, escalation_id: str, round_no: int) -> str:
    """RQ job: remind the deciding group that an escalation waits (once per round)."""
    with work_context() as ctx:
        service = make_service(ctx.cp, ctx.queue, ctx.raw)
        sent = deadlines.remind(service, run_id, escalation_id, round_no)
        return "reminded" if sent else "no reminder: decided, held, handed over or already sent"


def deadline_passed(run_id: str, escalation_id: str, round_no: int) -> str:
    """RQ job: apply the deadline's safe default (reject, hold or hand over)."""
    with work_context() as ctx:
        service = make_service(ctx.cp, ctx.queue, ctx.raw)
        done = deadlines.deadline_passed(
            service, run_id, escalation_id, round_no, RqScheduler(ctx.queue)
        )
        return done or "nothing to do: decided, held or handed over meanwhile"

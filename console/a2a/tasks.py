"""A run as an A2A task: its state from the run's status, its artifact from its final handoff.

==============  =================  =====================================================
run status      task state         with
==============  =================  =====================================================
queued          submitted
running         working
waiting         input-required     what the escalation asks (a human answers it in the
                                   console or with ``waybill decide``; never over A2A)
succeeded       completed          the artifact: the payload handed to END
failed          failed             the reason
rejected        rejected           the reason
killed          canceled           the reason
==============  =================  =====================================================
"""

from __future__ import annotations

from a2a.helpers.proto_helpers import new_data_artifact, new_text_message
from a2a.types import Role, Task, TaskState, TaskStatus

from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.run_events import HandoffProposed, node_updates
from state.status import RunStatus

STATES: dict[RunStatus, int] = {
    "queued": TaskState.TASK_STATE_SUBMITTED,
    "running": TaskState.TASK_STATE_WORKING,
    "waiting": TaskState.TASK_STATE_INPUT_REQUIRED,
    "held": TaskState.TASK_STATE_WORKING,
    "succeeded": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "rejected": TaskState.TASK_STATE_REJECTED,
    "killed": TaskState.TASK_STATE_CANCELED,
}
SETTLED = frozenset({"waiting", "succeeded", "failed", "rejected", "killed"})
"""Run statuses at which a ``message/send`` answers (an interrupted or terminal task)."""

MAX_EVENTS = 10_000


def final_payload(cp: ControlPlane, run_id: str) -> dict[str, object] | None:
    """The payload the run handed to END (its result), from its typed events."""
    last = None
    for update in node_updates(cp.events.read(run_id, count=MAX_EVENTS)):
        for handoff in update.of_kind(HandoffProposed):
            if handoff.ends_run:
                last = handoff.payload
    return last


def _note(cp: ControlPlane, record: RunRecord) -> str:
    if record.status == "waiting":
        pending = [e for e in cp.escalations.for_run(record.run_id) if e.pending]
        what = str(pending[-1].request.get("what", "")) if pending else "a decision"
        return f"waiting for a human in the Waybill console: {what}"
    return record.reason or record.status


def task_of(cp: ControlPlane, record: RunRecord, context_id: str) -> Task:
    """The A2A task that is run ``record`` now."""
    task = Task(id=record.run_id, context_id=context_id)
    task.status.CopyFrom(
        TaskStatus(
            state=STATES[record.status],  # type: ignore[arg-type]
            message=new_text_message(
                _note(cp, record),
                context_id=context_id,
                task_id=record.run_id,
                role=Role.ROLE_AGENT,
            ),
        )
    )
    task.status.timestamp.FromDatetime(record.updated_at)
    if record.status == "succeeded":
        payload = final_payload(cp, record.run_id)
        if payload is not None:
            task.artifacts.append(
                new_data_artifact("result", payload, media_type="application/json")
            )
    return task

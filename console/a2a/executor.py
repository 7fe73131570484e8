"""The A2A side of a run: starting it from a message, and reading its task back.

:class:`RunAgentExecutor` starts a run from the data part of a message (the task id is the run
id) and answers when the run waits for a human or ends (or after ``wait_s``, still working);
``console.a2a.handler`` answers task reads from the run's live status, so the task follows the
run after the first answer, whatever process moves it. A message to a task that waits is not a
way to answer its escalation: humans decide, in the console.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from a2a.helpers.proto_helpers import get_data_parts, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.types import (
    InvalidParamsError,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    UnsupportedOperationError,
)

from console.a2a.auth import caller_of
from console.a2a.handler import NO_CANCEL, NO_FOLLOW_UP
from console.a2a.tasks import SETTLED, task_of
from graph.runtime.principal import Principal
from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.errors import WaybillError

Start = Callable[[dict[str, Any], str, Principal], RunRecord]
"""Starts a run of the workflow with this input and run id, as this caller (raises a one-line
WaybillError)."""


def rejected(task_id: str, context_id: str, why: str) -> Task:
    """A task refused before any run started (bad input, a kill switch, a role)."""
    message = new_text_message(why, context_id=context_id, task_id=task_id, role=Role.ROLE_AGENT)
    return Task(
        id=task_id,
        context_id=context_id,
        status=TaskStatus(state=TaskState.TASK_STATE_REJECTED, message=message),
    )


class RunAgentExecutor(AgentExecutor):
    """Starts one workflow's runs from A2A messages."""

    def __init__(self, workflow: str, cp: ControlPlane, start: Start, wait_s: float = 30.0) -> None:
        self.workflow = workflow
        self.cp = cp
        self.start = start
        self.wait_s = wait_s

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Start the run; publish its task when it waits, ends, or ``wait_s`` passed."""
        task_id, context_id = str(context.task_id), str(context.context_id)
        if context.current_task is not None:
            raise InvalidParamsError(message=NO_FOLLOW_UP)
        who = caller_of(context.call_context)
        if who is None:  # the app's guard lets no such call through; refuse it all the same
            why = "this call is not authenticated: send a console user's API token"
            await event_queue.enqueue_event(rejected(task_id, context_id, why))
            return
        data = get_data_parts(context.message.parts) if context.message else []
        if len(data) != 1 or not isinstance(data[0], dict):
            why = f"send exactly one data part: a JSON object, the input of {self.workflow}"
            await event_queue.enqueue_event(rejected(task_id, context_id, why))
            return
        try:
            record = await asyncio.to_thread(self.start, data[0], task_id, who)
        except WaybillError as exc:
            await event_queue.enqueue_event(
                rejected(task_id, context_id, " ".join(str(exc).split()))
            )
            return
        await event_queue.enqueue_event(
            await asyncio.to_thread(task_of, self.cp, record, context_id)
        )
        deadline = time.monotonic() + self.wait_s
        while record.status not in SETTLED and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            record = await asyncio.to_thread(self.cp.runs.get, task_id)
        now = await asyncio.to_thread(task_of, self.cp, record, context_id)
        for artifact in now.artifacts:
            await event_queue.enqueue_event(
                TaskArtifactUpdateEvent(task_id=task_id, context_id=context_id, artifact=artifact)
            )
        await event_queue.enqueue_event(
            TaskStatusUpdateEvent(task_id=task_id, context_id=context_id, status=now.status)
        )

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Runs are stopped with a kill switch (an admin's, audited), not over A2A."""
        raise UnsupportedOperationError(message=NO_CANCEL)

"""The request handler of one workflow's A2A agent: every task read follows the run.

The SDK keeps a copy of each task in its task store, written when a ``SendMessage`` answers;
the run moves on without it (a human decides, a deadline rejects, a kill switch stops it). So
``GetTask`` and ``ListTasks`` answer from the run's live status, and the calls Waybill refuses
(``CancelTask``, a follow-up message to a task) are refused here, before the SDK's task
machinery runs: it would otherwise record the refusal as a failed task.
"""

from __future__ import annotations

import asyncio
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import TaskStore
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    InvalidParamsError,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
)
from a2a.utils.task import apply_history_length, validate_history_length

from console.a2a.tasks import task_of
from state.control.errors import UnknownRun
from state.control.plane import ControlPlane

NO_CANCEL = "stop a Waybill run with its kill switch (`waybill kill --run ID`)"
"""Why ``CancelTask`` is refused: runs are stopped by an admin's kill switch, audited."""

NO_FOLLOW_UP = (
    "a Waybill task takes no follow-up messages: escalations are decided by humans, "
    "in the Waybill console"
)
"""Why a message naming a task is refused."""

PAGE = 100
"""The largest page the SDK's task store lists (``ListTasks`` page size)."""


class RunTaskHandler(DefaultRequestHandler):
    """Tasks read from their runs' live status; cancels and follow-ups refused unchanged."""

    def __init__(
        self, workflow: str, cp: ControlPlane, *, task_store: TaskStore, **kwargs: Any
    ) -> None:
        super().__init__(task_store=task_store, **kwargs)
        self.workflow = workflow
        self.cp = cp
        self.store = task_store

    async def _live(self, task_id: str, stored: Task | None) -> Task | None:
        """The task that run ``task_id`` (of this workflow) is now, with the stored history;
        None when no such run exists."""
        try:
            record = await asyncio.to_thread(self.cp.runs.get, task_id)
        except UnknownRun:
            return None
        if record is None or record.workflow != self.workflow:
            return None
        context_id = stored.context_id if stored is not None else record.run_id
        live = await asyncio.to_thread(task_of, self.cp, record, context_id)
        if stored is not None:
            live.history.extend(stored.history)
        return live

    async def _known(self, task_id: str, context: ServerCallContext) -> Task:
        """The task ``task_id`` as it stands now; TaskNotFoundError when there is none."""
        stored = await self.store.get(task_id, context)
        live = await self._live(task_id, stored)
        if live is not None:
            return live
        if stored is None:
            raise TaskNotFoundError
        return stored

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        """The task as the run stands now (a run of this workflow), else as stored."""
        validate_history_length(params)
        return apply_history_length(await self._known(params.id, context), params)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        """The caller's tasks, each refreshed from its run first, so that the SDK's filters
        (state, time of the last change), order and pages see the runs as they are now."""
        token = ""
        while True:
            page = await self.store.list(
                ListTasksRequest(page_size=PAGE, page_token=token), context
            )
            for stored in page.tasks:
                live = await self._live(stored.id, stored)
                if live is not None:
                    await self.store.save(live, context)
            token = page.next_page_token
            if not token:
                break
        listed: ListTasksResponse = await super().on_list_tasks(params, context)
        return listed

    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        """Refused, with why, leaving the task and its run as they are."""
        await self._known(params.id, context)
        raise TaskNotCancelableError(message=NO_CANCEL)

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Message | Task:
        """A new task starts a run; a message naming a task is refused and changes nothing."""
        if params.message.task_id:
            await self._known(params.message.task_id, context)
            raise InvalidParamsError(message=NO_FOLLOW_UP)
        answer: Message | Task = await super().on_message_send(params, context)
        return answer

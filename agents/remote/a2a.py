"""A stage whose agent is a remote A2A agent (e.g. a workflow of another Waybill).

Example:
    >>> quote = a2a_agent("http://127.0.0.1:8600/quoting", Quote, token=os.environ["QUOTE_TOKEN"])
    >>> Stage("quote", quote, Ask, Quote, owner="x")

``token`` is sent as ``Authorization: Bearer`` on every call: for a Waybill, the API token of a
user of the remote console (``waybill user token NAME`` there), whom its runs are started as.

The stage's input goes out as one data part; the remote task's artifact comes back as the
stage's proposal, and the gate on the stage's edge checks it like any handoff before anything
reads it: a reply that does not fit the contract fails the contract check, one that breaks an
invariant fails it, and a remote task that fails or hangs is a failed handoff (revise, then a
human), never a crash. The call goes through the run's tape like any agent call, so a replay
asks the remote agent nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_data_parts, get_message_text, new_data_part
from a2a.types import (
    GetTaskRequest,
    Message,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskState,
)
from pydantic import ValidationError

from agents.tools.mcp import run_sync
from graph.agent import AgentContext, AgentResult
from state.contracts import Contract
from state.decisions import DecisionRecord

OutT = TypeVar("OutT", bound=Contract)

DONE = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_REJECTED,
    TaskState.TASK_STATE_CANCELED,
}


@dataclass(frozen=True)
class RemoteReply:
    """How the remote task ended (or where it stood when we stopped waiting)."""

    task_id: str
    state: str
    data: dict[str, Any] | None
    note: str


def _reply(task: Task) -> RemoteReply:
    data = [d for a in task.artifacts for d in get_data_parts(a.parts) if isinstance(d, dict)]
    note = get_message_text(task.status.message) if task.status.HasField("message") else ""
    state = TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()
    return RemoteReply(task.id, state, data[-1] if data else None, note)


async def ask_remote(
    url: str, payload: dict[str, Any], timeout_s: float, token: str | None = None
) -> RemoteReply:
    """Send ``payload`` to the A2A agent at ``url`` (with ``token`` as a bearer token) and wait
    for its task to end."""
    deadline = time.monotonic() + timeout_s
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=min(timeout_s, 60.0), headers=headers) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        client = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
        message = Message(
            message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[new_data_part(payload)]
        )
        request = SendMessageRequest(
            message=message, configuration=SendMessageConfiguration(return_immediately=True)
        )
        task = Task()
        async for response in client.send_message(request):
            task = response.task
        while task.status.state not in DONE and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            task = await client.get_task(GetTaskRequest(id=task.id))
        return _reply(task)


def a2a_agent(
    url: str,
    produces: type[OutT],
    *,
    token: str | None = None,
    name: str = "",
    timeout_s: float = 600.0,
) -> Callable[[Contract, AgentContext], AgentResult[OutT]]:
    """An agent answered by the A2A agent at ``url`` (its base URL, where its card is),
    called with ``token`` as its bearer token."""
    who = name or f"a2a:{url.rstrip('/').rsplit('/', 1)[-1]}"

    def agent(inp: Contract, ctx: AgentContext) -> AgentResult[OutT]:
        payload = inp.model_dump(mode="json")
        try:
            reply = run_sync(lambda: ask_remote(url, payload, timeout_s, token))
        except Exception as exc:  # unreachable, refused, a protocol error: a failed handoff
            why = f"the remote agent at {url} failed: {type(exc).__name__}: {exc}"
            record = DecisionRecord(agent=who, chosen="no reply", rationale=why, confidence=0.0)
            return AgentResult.invalid({}, record)
        rationale = f"remote task {reply.task_id} ended {reply.state}: {reply.note}"
        if reply.state != "completed" or reply.data is None:
            record = DecisionRecord(
                agent=who, chosen="no reply", rationale=rationale, confidence=0.0
            )
            return AgentResult.invalid({}, record)
        try:
            output = produces.model_validate(reply.data)
        except ValidationError as exc:
            why = f"{rationale}; the reply is not a {produces.__name__}: {exc.errors()[0]['msg']}"
            record = DecisionRecord(
                agent=who, chosen="malformed reply", rationale=why, confidence=0.0
            )
            return AgentResult.invalid(reply.data, record)
        return AgentResult(
            output, DecisionRecord(agent=who, chosen="remote reply", rationale=rationale)
        )

    agent.__name__ = who
    return agent

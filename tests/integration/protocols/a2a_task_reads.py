"""A2A task reads follow the run, and refused calls change nothing: ``ListTasks`` shows the
run's live state (not the SDK's copy from the first answer), and a ``CancelTask`` or a
follow-up message to a waiting task is refused with why, leaving the task waiting. Checked on
the server and worker of ``test_a2a.py`` (each costs seconds to start)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from a2a.helpers.proto_helpers import new_data_part
from a2a.types import Message, Role, SendMessageConfiguration, SendMessageRequest
from google.protobuf.json_format import MessageToDict

from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from tests.integration.runtime import FINANCE, wait_for
from tests.unit.conftest import example


def _rpc(url: str, token: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
    reply = httpx.post(
        url,
        json=body,
        headers={"Authorization": f"Bearer {token}", "A2A-Version": "1.0"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def _message(payload: dict[str, Any], task_id: str = "") -> dict[str, Any]:
    message = Message(
        message_id=uuid.uuid4().hex,
        role=Role.ROLE_USER,
        parts=[new_data_part(payload)],
        task_id=task_id,
    )
    request = SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(return_immediately=False)
    )
    params: dict[str, Any] = MessageToDict(request)
    return params


def _listed(url: str, token: str) -> dict[str, str]:
    tasks = _rpc(url, token, "ListTasks", {})["result"].get("tasks", [])
    return {t["id"]: t["status"]["state"] for t in tasks}


def check_task_reads(url: str, token: str, cp: ControlPlane, console: RunService) -> None:
    """On a served agent (``url``, a worker executing its runs): a large order's task waits;
    cancels and a follow-up are refused with why and change nothing; once a human rejects the
    run, ``ListTasks`` says so (the SDK's copy said input-required for good)."""
    sent = _rpc(url, token, "SendMessage", _message(example("large_order")))
    assert "result" in sent, sent
    task_id = sent["result"]["task"]["id"]
    wait_for(lambda: cp.runs.get(task_id).status == "waiting", 60, "the run to wait")
    waiting = "TASK_STATE_INPUT_REQUIRED"
    wait_for(lambda: _listed(url, token)[task_id] == waiting, 30, "input-required")

    cancel = _rpc(url, token, "CancelTask", {"id": task_id})
    assert cancel["error"]["code"] == -32002
    assert "kill switch" in cancel["error"]["message"]
    before = _rpc(url, token, "GetTask", {"id": task_id})["result"]
    follow_up = _rpc(url, token, "SendMessage", _message({"text": "hi"}, task_id))
    assert "no follow-up messages" in follow_up["error"]["message"]
    cancel = _rpc(url, token, "CancelTask", {"id": task_id})  # still not terminal
    assert "kill switch" in cancel["error"]["message"]
    assert _listed(url, token)[task_id] == waiting
    got = _rpc(url, token, "GetTask", {"id": task_id})["result"]
    assert got["status"]["state"] == waiting
    assert got["history"] == before["history"]  # the refused follow-up left no trace
    assert cp.runs.get(task_id).status == "waiting"
    unknown = _rpc(url, token, "CancelTask", {"id": "no-such-task"})
    assert unknown["error"]["code"] == -32001

    [esc] = cp.escalations.for_run(task_id)
    console.decide(esc.escalation_id, "reject", who=FINANCE, comment="not now")
    wait_for(lambda: cp.runs.get(task_id).status == "rejected", 60, "the rejection")
    assert _listed(url, token)[task_id] == "TASK_STATE_REJECTED"
    only = _rpc(url, token, "ListTasks", {"status": "TASK_STATE_INPUT_REQUIRED"})
    assert only["result"].get("tasks", []) == []

"""A2A both ways with the official a2a-sdk: a workflow published by ``waybill a2a`` (card from
the chain, a task that is a run started as the caller its token names, ``input-required`` while
its escalation waits, ``completed`` after a human approves; calls without a valid token start
nothing), and a stage answered by a second Waybill process over A2A whose bad reply the local
gate catches."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_data_parts, new_data_part
from a2a.types import (
    AgentCard,
    GetTaskRequest,
    Message,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskState,
)
from google.protobuf.json_format import MessageToDict

from agents.remote.a2a import a2a_agent
from graph.agent import AgentContext
from graph.chain import Chain, Edge, InvariantContext, Stage, invariant
from graph.runtime.registry import Registry
from graph.runtime.service import RunService
from state.control.plane import ControlPlane
from state.control.tokens import TokenStore
from state.control.users import ScryptParams, UserStore
from state.nodes import END
from state.run_events import VerdictGiven, node_updates
from tests.integration.protocols.a2a_servers import PASSWORD, a2a_server
from tests.integration.protocols.a2a_task_reads import check_task_reads
from tests.integration.protocols.inline import inline
from tests.integration.runtime import APPROVER, FINANCE, GROUPS, STAFF, WorkerProcess, wait_for
from tests.redis_servers import ServerUnderTest
from tests.staff import add_staff
from tests.unit.conftest import example
from tests.workflows.quoting import Quote, QuoteAsk

pytestmark = pytest.mark.integration


async def _card(base: str) -> AgentCard:
    async with httpx.AsyncClient() as http:
        return await A2ACardResolver(http, base).get_agent_card()


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def _send_and_follow(
    base: str, payload: dict[str, Any], until: set[int], token: str | None
) -> Task:
    async with httpx.AsyncClient(timeout=30, headers=_bearer(token)) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
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
        for _ in range(240):
            if task.status.state in until:
                return task
            await asyncio.sleep(0.25)
            task = await client.get_task(GetTaskRequest(id=task.id))
        raise AssertionError(f"task stayed {TaskState.Name(task.status.state)}")


async def _get(base: str, task_id: str, token: str) -> Task:
    async with httpx.AsyncClient(timeout=30, headers=_bearer(token)) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
        client = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
        return await client.get_task(GetTaskRequest(id=task_id))


def test_a_workflow_is_an_a2a_agent_whose_task_follows_the_run(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    worker = WorkerProcess(server.url, tmp_path, "w-a2a")
    cp = ControlPlane.from_url(server.url)
    add_staff(cp, STAFF, GROUPS)  # bob of finance decides the large order
    console = RunService(cp, Registry(), lambda run_id: None)  # what the console's inbox calls
    try:
        with a2a_server(server.url, tmp_path, '["tests.workflows.steps"]') as served:
            base, token = served.base, served.token
            card = asyncio.run(_card(f"{base}/procurement"))
            assert card.name == "procurement"
            assert card.supported_interfaces[0].url == f"{base}/procurement/"
            [skill] = card.skills
            assert "PurchaseRequest" in skill.description
            schemas = MessageToDict(card.capabilities.extensions[0].params)
            assert set(schemas["input_schema"]["properties"]) >= {"request_id", "text"}
            assert "request_id" in schemas["input_schema"]["required"]

            waiting = asyncio.run(
                _send_and_follow(
                    f"{base}/procurement",
                    example("large_order"),
                    {TaskState.TASK_STATE_INPUT_REQUIRED},
                    token,
                )
            )
            run = cp.runs.get(waiting.id)  # the task is the run, started as the token's user
            assert (run.workflow, run.status, run.user) == ("procurement", "waiting", "a2a")
            assert "waiting for a human" in waiting.status.message.parts[0].text
            [esc] = cp.escalations.for_run(waiting.id)
            console.decide(esc.escalation_id, "approve", who=FINANCE, comment="budget ok")
            done = wait_for(
                lambda: (
                    (t := asyncio.run(_get(f"{base}/procurement", waiting.id, token))).status.state
                    == TaskState.TASK_STATE_COMPLETED
                    and t
                ),
                60,
                "the task to complete",
                tick=0.3,
            )
            [result] = [d for a in done.artifacts for d in get_data_parts(a.parts)]
            assert result["request_id"] == "R-1002"
            assert (result["sku"], result["status"]) == ("SKU-MON-27", "placed")

            refused = asyncio.run(
                _send_and_follow(
                    f"{base}/procurement",
                    {"text": "no id"},
                    {TaskState.TASK_STATE_REJECTED},
                    token,
                )
            )
            assert "not a valid PurchaseRequest" in refused.status.message.parts[0].text
            check_task_reads(f"{base}/procurement/", token, cp, console)
    finally:
        worker.stop()
        cp.close()


def _send_message_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC ``SendMessage`` that starts a run when its caller may."""
    message = Message(
        message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[new_data_part(payload)]
    )
    params = MessageToDict(SendMessageRequest(message=message))
    return {"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": params}


def test_a2a_calls_need_a_console_users_token_and_start_nothing_without_one(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    cp = ControlPlane.from_url(server.url)
    UserStore(cp.client, params=ScryptParams(n=2**12)).add("vic", "viewer", PASSWORD)
    tokens = TokenStore(cp.client)
    viewer, _ = tokens.issue("vic", "a2a test")
    try:
        with a2a_server(server.url, tmp_path, '["tests.workflows.steps"]') as served:
            base = f"{served.base}/procurement"
            card = asyncio.run(_card(base))  # the card is public, and says what calls need
            assert card.security_schemes["bearer"].http_auth_security_scheme.scheme == "Bearer"
            assert list(card.security_requirements[0].schemes) == ["bearer"]
            revoked, info = tokens.issue("a2a", "to revoke")
            tokens.revoke("a2a", info.id)
            body = _send_message_body(example("small_order"))
            for headers in (
                {},
                {"Authorization": "Bearer wb_not-a-token"},
                {"Authorization": f"Bearer {revoked}"},
                {"Authorization": served.token},  # no scheme
            ):
                reply = httpx.post(f"{base}/", json=body, headers=headers, timeout=10)
                assert reply.status_code == 401, headers
                assert reply.headers["www-authenticate"] == "Bearer"
                assert "API token" in reply.json()["error"]["message"]
            # Anyone can send wrong tokens: they are audited within the failed-login rate.
            flood = {"Authorization": "Bearer wb_guess"}
            for _ in range(40):
                assert (
                    httpx.post(f"{base}/", json=body, headers=flood, timeout=10).status_code == 401
                )
            with pytest.raises(Exception, match="401"):  # the official client, without a token
                asyncio.run(_send_and_follow(base, example("small_order"), set(), None))
            # A viewer is authenticated, but starting a run needs the approver role.
            refused = asyncio.run(
                _send_and_follow(
                    base, example("small_order"), {TaskState.TASK_STATE_REJECTED}, viewer
                )
            )
            assert "needs the approver role" in refused.status.message.parts[0].text
            # A remote stage without the token: a failed handoff, never a crash.
            ask = a2a_agent(base, Quote, timeout_s=10)
            result = ask(QuoteAsk(sku="SKU-CHAIR-01", quantity=1), AgentContext("r", "quote", 1))
            assert result.output is None
            assert "401" in result.decision.rationale
        assert cp.runs.list(workflow="procurement").total == 0  # nothing started
        denied = cp.audit.list(action="denied", limit=100)
        assert sum(e.actor == "a2a:token" for e in denied) == 30  # of 42 wrong or revoked
        assert len(cp.audit.list(action="login.failed.audit_paused")) == 1
        assert any(e.actor == "vic" and e.details["attempted"] == "start a run" for e in denied)
    finally:
        cp.close()


@invariant("FM-2.5")
def sane_price(out: Quote, ictx: InvariantContext) -> str | None:
    return None if out.unit_price <= 1000 else f"a unit price of {out.unit_price} is not sane"


def test_a_remote_stage_reply_is_a_handoff_checked_by_its_gate(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    remote = ServerUnderTest("valkey", tmp_path / "remote-redis")  # the second Waybill's own
    remote.start()
    try:
        with a2a_server(remote.url, tmp_path / "remote", '["tests.workflows.quoting"]') as served:
            quote = a2a_agent(f"{served.base}/quoting", Quote, token=served.token, timeout_s=60)

            def buyer() -> Chain:
                return Chain(
                    name="buyer",
                    description="Asks a remote Waybill for a quote.",
                    entry="quote",
                    stages=(Stage("quote", quote, QuoteAsk, Quote, owner="remote sales"),),
                    edges=(Edge("quote", END, invariants=(sane_price,)),),
                )

            box = inline(server.url)
            box.registry.register(buyer)
            good = box.service.submit("buyer", {"sku": "SKU-CHAIR-01", "quantity": 3}, who=APPROVER)
            bad = box.service.submit("buyer", {"sku": "SKU-GOLD", "quantity": 1}, who=APPROVER)
    finally:
        remote.stop()
    assert box.cp.runs.get(good.run_id).status == "succeeded"
    record = box.cp.runs.get(bad.run_id)
    assert record.status == "waiting"  # the same bad reply again: a loop, a human decides
    verdicts = [
        e.verdict
        for u in node_updates(box.cp.events.read(bad.run_id, count=1000))
        for e in u.of_kind(VerdictGiven)
    ]
    assert [v.decision for v in verdicts] == ["revise", "escalate"]
    assert verdicts[0].mast == ["FM-2.5"]
    assert "not sane" in verdicts[0].failed[0].detail
    assert {c.check for c in verdicts[1].failed} == {"domain", "loop"}
    [esc] = box.cp.escalations.for_run(bad.run_id)
    assert esc.request["proposed"]["unit_price"] == 1_000_000.0

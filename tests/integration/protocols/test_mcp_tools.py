"""Agents calling tools of real MCP server processes (stdio and streamable HTTP): every call on
the run's tape (a replay makes none), counted in the budget, and the world-changing tool run
only as an approve-tier action after its gate passed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.tools.mcp import McpServer, mcp_action
from graph.runtime.replay import replay_run
from state.stores.tape import RedisTapeStore
from tests.integration.protocols.inline import inline
from tests.integration.runtime import ADMIN, APPROVER, ROOT, wait_for
from tests.redis_servers import ServerUnderTest, free_port
from tests.workflows import stocked

pytestmark = pytest.mark.integration
SCRIPT = str(ROOT / "tests" / "mcp_stock_server.py")
ALLOW = ("stock_level",)


def calls(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(params=["stdio", "http"])
def stock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[McpServer, Path]]:
    log = tmp_path / "calls.jsonl"
    env = {"STOCK_CALLS": str(log), "PATH": os.environ.get("PATH", "")}
    if request.param == "stdio":
        yield McpServer.stdio("stock", sys.executable, [SCRIPT, "stdio"], allow=ALLOW, env=env), log
        return
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, SCRIPT, "http", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _listening(port), 20, "the MCP server to listen")
        yield McpServer.http("stock", f"http://127.0.0.1:{port}/mcp", allow=ALLOW), log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_tool_calls_are_taped_and_a_replay_makes_none(
    server: ServerUnderTest, stock: tuple[McpServer, Path]
) -> None:
    mcp, log = stock
    box = inline(server.url)
    box.registry.register(lambda: stocked.build_chain(mcp))
    # ada starts it, april of the owning group approves it (four eyes)
    run = box.service.submit("stocked", {"sku": "SKU-CHAIR-01", "quantity": 20}, who=ADMIN)
    assert box.cp.runs.get(run.run_id).status == "waiting"  # the reservation is approve-tier
    assert [c["tool"] for c in calls(log)] == ["stock_level"]  # nothing reserved before approval
    [esc] = box.cp.escalations.for_run(run.run_id)
    assert esc.request["proposed"] == {"sku": "SKU-CHAIR-01", "quantity": 20}
    box.service.decide(esc.escalation_id, "approve", who=APPROVER)
    assert box.cp.runs.get(run.run_id).status == "succeeded"
    made = calls(log)
    assert made == [
        {"tool": "stock_level", "sku": "SKU-CHAIR-01"},
        {
            "tool": "reserve_stock",
            "sku": "SKU-CHAIR-01",
            "quantity": 20,
            "idempotency_key": f"{run.run_id}:reserve:reserve_stock",
        },
    ]
    tape = RedisTapeStore(box.raw, run.run_id).entries()
    [key] = [k for k in tape if k.startswith("tool|")]
    assert key == "tool|check|0|1|stock/stock_level|0"
    entry = json.loads(tape[key])
    assert entry["arguments"] == {"sku": "SKU-CHAIR-01"}
    assert entry["result"]["data"] == {"sku": "SKU-CHAIR-01", "units": 140}

    report = replay_run(box.cp, box.raw, box.registry, run.run_id)
    assert report.identical, report.divergences
    assert report.live_calls == 0
    assert calls(log) == made  # the replay called no tool at all


def test_the_tool_call_budget_is_checked_before_the_call(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    log = tmp_path / "calls.jsonl"
    env = {"STOCK_CALLS": str(log), "PATH": os.environ.get("PATH", "")}
    mcp = McpServer.stdio("stock", sys.executable, [SCRIPT, "stdio"], allow=ALLOW, env=env)
    box = inline(server.url)
    box.registry.register(lambda: stocked.build_chain(mcp, max_tool_calls=0))
    run = box.service.submit("stocked", {"sku": "SKU-CHAIR-01", "quantity": 20}, who=APPROVER)
    record = box.cp.runs.get(run.run_id)
    assert record.status == "failed"
    assert "budget:tool_calls would be exceeded by a call of 'stock_level'" in (record.reason or "")
    assert calls(log) == []


def test_a_world_changing_tool_cannot_be_allowed_to_agents() -> None:
    mcp = McpServer.stdio("stock", sys.executable, [SCRIPT], allow=("reserve_stock",))
    with pytest.raises(ValueError, match="declared as an action and allowed to agents"):
        mcp_action(mcp, "reserve_stock", tier="approve", args=lambda out: {})

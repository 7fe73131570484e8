"""``waybill mcp`` driven by the official MCP client over stdio, against a real Redis and a
real worker: it lists runs, reads a timeline, trips a kill switch that stops a running run, and
refuses (and audits) any attempt to decide an escalation."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from state.control.plane import ControlPlane
from state.control.users import ScryptParams, UserStore
from tests.integration.runtime import (
    APPROVER,
    ROOT,
    WorkerProcess,
    service,
    wait_status,
    worker_env,
)
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def _env(url: str, data_dir: Path, user: str, token: str | None = None) -> dict[str, str]:
    """The environment of ``waybill mcp`` acting as ``user`` (a token issued for them, unless
    ``token`` is given)."""
    if token is None:
        cp = ControlPlane.from_url(url)
        token, _ = cp.tokens.issue(user, "mcp test")
        cp.close()
    return worker_env(url, data_dir, WAYBILL_TOKEN=token)


def _text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def _data(result: CallToolResult) -> Any:
    assert not result.isError, _text(result)
    assert result.structuredContent is not None
    return result.structuredContent.get("result", result.structuredContent)


async def _session(env: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Connect to ``waybill mcp``, list its tools, make ``calls``; the tool list then results."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "console.cli", "mcp"], env=env, cwd=str(ROOT)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        out: list[Any] = [await session.list_tools()]
        for name, arguments in calls:
            out.append(await session.call_tool(name, arguments))
        return out


def test_an_assistant_oversees_runs_but_never_decides(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    svc, cp, _ = service(server.url)
    users = UserStore(cp.client, params=ScryptParams(n=2**12))
    users.add("opal", "admin", PASSWORD)
    users.add("vera", "viewer", PASSWORD)
    worker = WorkerProcess(server.url, tmp_path, "w-mcp")
    try:
        waiting = svc.submit("steps", {"job_id": "big", "amount": 500.0}, who=APPROVER).run_id
        wait_status(cp, waiting, {"waiting"})
        [esc] = cp.escalations.for_run(waiting)
        slow = svc.submit("steps", {"job_id": "slow", "sleep_s": 20.0}, who=APPROVER).run_id
        wait_status(cp, slow, {"running"})
        tools, runs, found, timeline, pending, refused, killed, held, aimless = asyncio.run(
            _session(
                _env(server.url, tmp_path, "opal"),
                [
                    ("list_runs", {}),
                    ("search_runs", {"query": "slow"}),
                    ("run_timeline", {"run_id": waiting}),
                    ("pending_escalations", {}),
                    ("approve_escalation", {"escalation_id": esc.escalation_id}),
                    ("trip_kill_switch", {"scope": "run", "target": slow, "reason": "runaway"}),
                    ("trip_hold_switch", {"scope": "workflow", "target": "steps", "reason": "x"}),
                    ("trip_hold_switch", {"scope": "run", "reason": "no target"}),
                ],
            )
        )
        record = wait_status(cp, slow, {"killed"}, timeout=30)
    finally:
        worker.stop()
    names = {t.name for t in tools.tools}
    assert names == {
        "list_runs",
        "search_runs",
        "run_timeline",
        "run_verdicts",
        "pending_escalations",
        "kill_switches",
        "trip_kill_switch",
        "trip_hold_switch",
    }
    assert not any(word in n for n in names for word in ("approve", "decide", "reject", "edit"))
    for tool in tools.tools:
        assert "can never approve, edit or reject an escalation" in (tool.description or "")
    assert {r["run_id"] for r in _data(runs)["items"]} == {waiting, slow}
    assert [r["run_id"] for r in _data(found)] == [slow]
    nodes = [(u["node"]["kind"], u["node"]["stage"]) for u in _data(timeline)]
    assert nodes[:2] == [("stage", "first"), ("gate", "first")]
    verdicts = [e for u in _data(timeline) for e in u["events"] if e["kind"] == "verdict"]
    assert verdicts
    assert verdicts[0]["verdict"]["decision"] == "pass"
    assert [p["escalation_id"] for p in _data(pending)] == [esc.escalation_id]
    # The refusal: an error naming why, nothing decided, the attempt audited.
    assert refused.isError
    assert "humans only" in _text(refused)
    assert cp.escalations.get(esc.escalation_id).pending
    audit = cp.audit.list(limit=50)
    assert any(e.action == "mcp.refused" and e.actor == "opal" for e in audit)
    # The kill switch stopped the running run, and the service audited it under opal.
    assert _data(killed)["scope"] == "run"
    # The hold switch parks the workflow's runs (the waiting one keeps waiting), audited too.
    assert _data(held)["queued_runs_held"] == 0
    assert aimless.isError
    assert "a run hold switch needs a target" in _text(aimless)
    assert [(h.scope, h.target, h.user) for h in cp.kills.list(kind="hold")] == [
        ("workflow", "steps", "opal")
    ]
    assert any(e.action == "hold.trip" and e.actor == "opal" for e in audit)
    assert cp.runs.get(waiting).status == "waiting"
    assert "runaway" in (record.reason or "")
    assert any(e.action == "kill.trip" and e.actor == "opal" for e in audit)
    assert any(e.action == "login" and e.details.get("via") == "mcp" for e in audit)


def test_a_viewer_cannot_trip_a_kill_switch(server: ServerUnderTest, tmp_path: Path) -> None:
    svc, cp, _ = service(server.url)
    UserStore(cp.client, params=ScryptParams(n=2**12)).add("vera", "viewer", PASSWORD)
    run = svc.submit("steps", {"job_id": "v"}, who=APPROVER).run_id
    _, denied, listed = asyncio.run(
        _session(
            _env(server.url, tmp_path, "vera"),
            [
                ("trip_kill_switch", {"scope": "run", "target": run, "reason": "no"}),
                ("list_runs", {}),
            ],
        )
    )
    assert denied.isError
    assert "needs the admin role" in _text(denied)
    assert cp.runs.get(run).status == "queued"
    assert _data(listed)["total"] == 1
    assert any(e.action == "denied" and e.actor == "vera" for e in cp.audit.list(limit=20))


def _serve_opal(
    server: ServerUnderTest, tmp_path: Path, stdin: str, *token: str
) -> subprocess.CompletedProcess[str]:
    """``waybill mcp`` as the admin opal (or with ``token``), reading ``stdin`` to its end."""
    _, cp, _ = service(server.url)
    UserStore(cp.client, params=ScryptParams(n=2**12)).add("opal", "admin", PASSWORD)
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "mcp"],
        env=_env(server.url, tmp_path, "opal", *token),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wrong_credentials_are_one_line_and_nothing_is_served(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    done = _serve_opal(server, tmp_path, "", "wb_not-a-token")
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("waybill: WAYBILL_TOKEN was refused: invalid or revoked API token")
    assert "Traceback" not in done.stderr


def test_ctrl_c_ends_the_server_while_its_client_keeps_stdin_open(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Someone trying ``waybill mcp`` in a terminal presses Ctrl+C: it ends at once, in one
    line (the SDK's own stop waited for its stdin reader, i.e. for the next line typed)."""
    _, cp, _ = service(server.url)
    UserStore(cp.client, params=ScryptParams(n=2**12)).add("opal", "admin", PASSWORD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "mcp"],
        env=_env(server.url, tmp_path, "opal"),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    assert stdin is not None
    assert stdout is not None
    assert stderr is not None
    try:
        client = {"name": "terminal", "version": "1"}
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}
        request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()
        assert json.loads(stdout.readline())["id"] == 1  # serving, its stdin still open
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        proc.kill()
        proc.wait()
    err = stderr.read().decode()
    assert err.strip() == "waybill: interrupted", err


def test_a_client_that_closes_its_end_ends_the_server_quietly(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Even after a line that is not JSON-RPC: exit 0, nothing on stderr."""
    done = _serve_opal(server, tmp_path, "not json-rpc\n")
    assert (done.returncode, done.stderr) == (0, "")

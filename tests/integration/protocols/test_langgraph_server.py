"""LangGraph's own tooling, offline: ``langgraph dev`` (the in-memory Agent Server) serves every
workflow of ``langgraph.json``; the official ``langgraph-sdk`` client starts a procurement run,
finds its escalation as an Agent Inbox ``HumanInterrupt`` on the thread, and resumes it with an
Agent Inbox ``HumanResponse``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from graph.runtime import studio
from graph.runtime.registry import Registry
from tests.integration.runtime import ROOT, wait_for
from tests.redis_servers import free_port
from tests.unit.conftest import example

pytestmark = pytest.mark.integration
LANGGRAPH = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or ""


def test_langgraph_json_serves_the_reference_workflows_and_only_registered_ones() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    names = set(Registry().names())
    assert {"procurement", "refund", "research"} <= set(config["graphs"])
    for name, path in config["graphs"].items():
        assert name in names
        assert path == f"graph.runtime.studio:{name}"
        factory = getattr(studio, name)
        assert isinstance(factory, studio.WorkflowGraph)
        assert factory.workflow == name


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not LANGGRAPH:
        msg = "langgraph-cli[inmem] is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    port = free_port()
    log = tmp_path_factory.mktemp("langgraph") / "dev.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_")},
        "PYTHONPATH": str(ROOT),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
    }
    command = [LANGGRAPH, "dev", "--config", str(ROOT / "langgraph.json"), "--no-browser"]
    proc = subprocess.Popen(  # from a scratch dir: the server keeps its state in its cwd
        [*command, "--no-reload", "--allow-blocking", "--port", str(port)],
        cwd=log.parent,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def ok() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"langgraph dev exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{url}/ok", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ok, 120, "langgraph dev to answer /ok", tick=0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _escalate_and_accept(url: str) -> tuple[list[Any], dict[str, Any], list[str]]:
    client = get_client(url=url)
    assistants = await client.assistants.search(limit=20)
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"], "procurement", input={"request": example("large_order")}
    )
    state = await client.threads.get_state(thread["thread_id"])
    interrupts = [i["value"] for i in state["interrupts"]]
    final = await client.runs.wait(
        thread["thread_id"],
        "procurement",
        command={"resume": [{"type": "accept", "args": None}]},
    )
    assert isinstance(final, dict)
    return interrupts, final, sorted(a["graph_id"] for a in assistants)


def test_the_sdk_runs_a_workflow_and_answers_its_escalation_like_agent_inbox(
    agent_server: str,
) -> None:
    interrupts, final, graphs = asyncio.run(_escalate_and_accept(agent_server))
    assert graphs == ["procurement", "refund", "research"]
    [value] = interrupts
    assert value["action_request"]["action"] == "action: place_order"
    assert value["action_request"]["args"]["sku"] == "SKU-MON-27"
    assert value["config"] == {
        "allow_ignore": False,
        "allow_respond": False,
        "allow_edit": False,
        "allow_accept": True,
    }
    assert "above the 5,000 approval limit" in value["description"]
    assert final["status"] == "succeeded"
    assert final["result"]["status"] == "placed"

"""Interrupt in this process, resume in a new one: 100 of 100 under every durability mode."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Literal

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import Durability

from state.checkpoint import AsyncRedisSaver, RedisSaver
from tests.integration.checkpoint_helpers.graphs import RECURSION_LIMIT, build_approval_graph
from tests.integration.checkpoint_helpers.resume_worker import ResumeJob
from tests.redis_servers import ServerUnderTest

REPETITIONS = 100
REPO = Path(__file__).resolve().parents[2]
MODES: list[Durability] = ["exit", "async", "sync"]
SAVERS: list[tuple[Literal["sync", "async"], list[Durability]]] = [
    ("sync", MODES),
    ("async", ["async"]),
]


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}


def _interrupt_sync(url: str, jobs: list[ResumeJob]) -> None:
    with RedisSaver.from_url(url) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        for job in jobs:
            config = _config(job["thread_id"])
            graph.invoke({"value": job["value"]}, config, durability=job["durability"])
            # visible here too, before any other process looks
            assert graph.get_state(config).interrupts, job


async def _interrupt_async(url: str, jobs: list[ResumeJob]) -> None:
    async with AsyncRedisSaver.from_url(url) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        for job in jobs:
            config = _config(job["thread_id"])
            await graph.ainvoke({"value": job["value"]}, config, durability=job["durability"])
            assert (await graph.aget_state(config)).interrupts, job


@pytest.mark.parametrize("shared_server", ["valkey"], indirect=True)
def test_interrupt_then_resume_in_new_process(shared_server: ServerUnderTest) -> None:
    run = uuid.uuid4().hex[:8]
    jobs: list[ResumeJob] = [
        {"thread_id": f"resume-{run}-{saver}-{mode}-{i}", "durability": mode, "saver": saver,
         "value": i}
        for saver, modes in SAVERS
        for mode in modes
        for i in range(REPETITIONS)
    ]  # fmt: skip
    _interrupt_sync(shared_server.url, [j for j in jobs if j["saver"] == "sync"])
    asyncio.run(_interrupt_async(shared_server.url, [j for j in jobs if j["saver"] == "async"]))

    # one fresh interpreter resumes all of them: nothing is shared but Redis
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.checkpoint_helpers.resume_worker",
         shared_server.url],
        input=json.dumps(jobs), capture_output=True, text=True, cwd=REPO, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"ok": len(jobs), "problems": []}

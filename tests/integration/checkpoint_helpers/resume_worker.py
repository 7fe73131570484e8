"""Resume interrupted approval runs in a fresh process and report what it saw, as JSON.

Usage: ``python -m tests.integration.checkpoint_helpers.resume_worker URL < jobs.json``
where each job is ``{"thread_id", "durability", "saver": "sync"|"async", "value"}``. For each
job the worker checks the interrupt is visible in ``get_state`` with the expected payload,
resumes, and checks the final state. It prints ``{"ok": n, "problems": [...]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Literal

from langgraph.types import Command, Durability
from typing_extensions import TypedDict

from state.checkpoint import AsyncRedisSaver, RedisSaver
from tests.integration.checkpoint_helpers.graphs import RECURSION_LIMIT, build_approval_graph


class ResumeJob(TypedDict):
    """One approval run to interrupt in the test's process and resume here."""

    thread_id: str
    durability: Durability
    saver: Literal["sync", "async"]
    """Which saver interrupts and resumes it."""
    value: int
    """The graph's input."""


def _check(job: dict[str, Any], snapshot: Any, result: dict[str, Any]) -> str | None:
    expected = job["value"] * 2
    if [i.value for i in snapshot.interrupts] != [{"ask": expected}]:
        return f"{job['thread_id']}: interrupts {snapshot.interrupts!r}"
    if snapshot.next != ("approve",):
        return f"{job['thread_id']}: next {snapshot.next!r}"
    if result != {"value": expected, "approved": "yes!"}:
        return f"{job['thread_id']}: result {result!r}"
    return None


def run_sync(url: str, jobs: list[dict[str, Any]]) -> list[str | None]:
    with RedisSaver.from_url(url) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        outcomes = []
        for job in jobs:
            config: Any = {
                "configurable": {"thread_id": job["thread_id"]},
                "recursion_limit": RECURSION_LIMIT,
            }
            snapshot = graph.get_state(config)
            result = graph.invoke(Command(resume="yes"), config, durability=job["durability"])
            outcomes.append(_check(job, snapshot, result))
        return outcomes


async def run_async(url: str, jobs: list[dict[str, Any]]) -> list[str | None]:
    async with AsyncRedisSaver.from_url(url) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        outcomes = []
        for job in jobs:
            config: Any = {
                "configurable": {"thread_id": job["thread_id"]},
                "recursion_limit": RECURSION_LIMIT,
            }
            snapshot = await graph.aget_state(config)
            result = await graph.ainvoke(
                Command(resume="yes"), config, durability=job["durability"]
            )
            outcomes.append(_check(job, snapshot, result))
        return outcomes


def main() -> None:
    url = sys.argv[1]
    jobs: list[dict[str, Any]] = json.load(sys.stdin)
    outcomes = run_sync(url, [j for j in jobs if j["saver"] == "sync"])
    outcomes += asyncio.run(run_async(url, [j for j in jobs if j["saver"] == "async"]))
    problems = [o for o in outcomes if o is not None]
    # The report is this process's output, read by the test that started it.
    sys.stdout.write(json.dumps({"ok": len(outcomes) - len(problems), "problems": problems}) + "\n")


if __name__ == "__main__":
    main()

"""``steps``: three stages, a slow one, and an effect whose executions are counted in Redis.

The slow stage's agent raises on a job noted ``raise`` and kills its process on one noted
``die`` (a poison input).

The effect is the test's witness for "no action ran twice": every call of the action is counted
(``calls``), and the effect itself is applied once per idempotency key (``effects``), the way a
real downstream system dedups on the key it is given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import redis

from graph.agent import AgentContext, AgentResult
from graph.chain import Action, Chain, Edge, Stage
from graph.envelope import EnvelopeRule
from state.budgets import Budgets
from state.contracts import Contract, Fact
from state.decisions import DecisionRecord
from state.nodes import END
from state.settings import get_settings
from state.sources import Source
from tests.workflows.witness import apply_once


class Job(Contract):
    job_id: str
    sleep_s: float = 0.0
    amount: float = 10.0
    notify: bool = False
    note: str = ""


class EffectStore:
    """Counts calls and applies effects once per key, in the test's Redis."""

    name = "effects"

    def __init__(self) -> None:
        url = get_settings().redis_url
        assert url is not None, "the steps workflow needs REDIS_URL"
        self.r = redis.Redis.from_url(url.get_secret_value(), decode_responses=True)

    def read(self, key: str) -> Fact:
        return Fact(value=self.r.get(f"test:effect:{key}"), source=self.name, key=key, version=1)

    def apply(self, run_key: str, key: str) -> bool:
        self.r.hincrby("test:calls", key, 1)
        return apply_once(self.r, f"test:effect:{key}", "test:effects", run_key)


def _pass(inp: Contract, ctx: AgentContext) -> AgentResult[Job]:
    assert isinstance(inp, Job)
    return AgentResult(inp, DecisionRecord(chosen="pass on", rationale="nothing to change"))


def _slow(inp: Contract, ctx: AgentContext) -> AgentResult[Job]:
    assert isinstance(inp, Job)
    if inp.note == "raise":
        raise ValueError("the slow agent broke on this input")
    if inp.note == "die":
        os._exit(137)  # the process dies mid-node, every time (as an OOM kill would)
    deadline = time.monotonic() + inp.sleep_s
    while time.monotonic() < deadline:  # a long model call, say
        time.sleep(0.05)
    return AgentResult(inp, DecisionRecord(chosen="worked", rationale=f"{inp.sleep_s}s of work"))


def _effect(out: Contract, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
    assert isinstance(out, Job)
    store = sources["effects"]
    assert isinstance(store, EffectStore)
    applied = store.apply(out.job_id, key)
    return {"applied": applied}


EFFECT: Action[Job] = Action(
    name="effect",
    tier="auto",
    run=_effect,
    retry_safe=True,  # applied once per key, however often it is called
    args=lambda out: {"job_id": out.job_id, "amount": out.amount},
    # The runtime tests start and approve runs as one user; four eyes is tested on
    # tests/workflows/approvals.py.
    self_approval=True,
    envelope=(
        EnvelopeRule("big", lambda out: out.amount > 100, "approve", "amount > 100"),
        EnvelopeRule("announce", lambda out: out.notify, "notify", "told"),
    ),
)


def build_chain() -> Chain:
    return Chain(
        name="steps",
        description="Three steps, one slow, one effect (test workflow).",
        entry="first",
        stages=(
            Stage("first", _pass, Job, Job, owner="tests"),
            Stage("slow", _slow, Job, Job, owner="tests"),
            Stage("finish", _pass, Job, Job, owner="tests", actions=(EFFECT,)),
        ),
        edges=(Edge("first", "slow"), Edge("slow", "finish"), Edge("finish", END)),
        budgets=Budgets(max_wall_s=600),
        sources=lambda: {"effects": EffectStore()},
    )

"""Agents that raise or return the wrong thing fail a check (never the run), and token budgets
are checked before a model call is made; their messages name the limit and the spend.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from agents.llm import use_brain
from agents.refund.chain import build_chain as build_refund
from graph.agent import AgentContext, AgentResult
from graph.runtime.runner import run_chain
from state.budgets import Budgets
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.run_state import verdicts_of
from tests.fakes import FakeChatModel, rules_mirror
from tests.unit.conftest import example_of
from tests.unit.gaps.meters import ASK, Read, meter_chain, read_meters


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("raise", "the agent raised ZeroDivisionError: division by zero"),
        ("dict", "the agent returned dict, not an AgentResult"),
        ("wrong", "the agent returned a Ask; 'read' produces Read"),
    ],
)
def test_an_agent_that_fails_is_a_failed_check_then_a_human(behaviour: str, error: str) -> None:
    def bad(inp: Contract, ctx: AgentContext) -> Any:
        if behaviour == "raise":
            return 1 / 0
        if behaviour == "dict":
            return {"account": "A-1"}
        return AgentResult(inp, DecisionRecord(chosen="x", rationale="y"))

    chain = meter_chain()
    chain = replace(chain, stages=(replace(chain.stages[0], agent=bad), chain.stages[1]))
    out = run_chain(chain, ASK)
    assert out.status == "waiting"  # a verdict and a waiting run, never a crash
    first = verdicts_of(out.state)[0]
    assert (first.gate, first.decision) == ("gate read->bill", "revise")
    assert next((c.check, c.detail) for c in first.failed) == ("agent", error)
    assert out.pending is not None
    assert out.pending.allowed == ["edit", "reject"]  # an absent payload cannot be approved


def test_an_agent_that_raises_once_recovers_on_revision() -> None:
    calls = {"n": 0}

    def flaky(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("model timed out")
        return read_meters(inp, ctx)

    chain = meter_chain()
    chain = replace(chain, stages=(replace(chain.stages[0], agent=flaky), chain.stages[1]))
    out = run_chain(chain, ASK)
    assert out.status == "succeeded"
    assert [v.decision for v in verdicts_of(out.state)] == ["revise", "pass", "pass"]


def test_a_model_call_that_would_exceed_the_token_budget_is_never_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "50")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_tokens=700, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=300)
    request = example_of(refund, "broken_lamp")
    with use_brain(fake):
        out = run_chain(chain, request)
    assert out.status == "failed"
    assert len(fake.calls) == 2  # 600 spent; the third call would need more than the 100 left
    last = verdicts_of(out.state)[-1]
    assert (last.decision, last.mast) == ("block", ["FM-1.5"])
    reason = out.state["reason"]
    assert "budget:tokens would be exceeded by the next call of 'policy'" in reason
    assert "600 of 700 spent, 100 left" in reason


def test_a_spent_token_budget_names_limit_and_spend_at_the_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "1")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_tokens=200, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=250)
    with use_brain(fake, agents={"classify"}):
        out = run_chain(chain, example_of(refund, "broken_lamp"))
    assert out.status == "failed"
    gate = verdicts_of(out.state)[0]
    [failed] = [c for c in gate.failed if c.check == "budget"]
    assert failed.detail == "budget:tokens exhausted: 250 spent of 200"
    assert "budget:tokens exhausted: 250 spent of 200" in out.state["reason"]

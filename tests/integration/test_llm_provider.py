"""LLM brains and the judge through the real OpenAI client, over HTTP, against a local server.

``langchain-openai``'s ``ChatOpenAI`` builds the request, sends it, retries, times out and
parses the tool call itself; the server started here (``tests/openai_server.py``) answers from a
script. No Redis and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI

from agents.llm import Price, init_model, llm_judge, use_brain
from agents.procurement.chain import build_chain
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import RunOutcome, run_chain
from state.run_state import decisions_of, verdicts_of
from tests.fakes import rules_mirror
from tests.openai_server import (
    OpenAIServer,
    Responder,
    Slow,
    Status,
    ToolCall,
    bound_tool,
    openai_server,
)
from tests.unit.conftest import Recorder, example

GOOD = {
    **example("small_order"),
    "sku": "SKU-CHAIR-01",
    "quantity": 20,
    "need_by": "2099-01-15",
}
MINI = Price(0.15, 0.60)  # gpt-4o-mini's list price, as the table has it


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("WAYBILL_MODEL", "WAYBILL_MODEL_PRICES", "OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    init_model.cache_clear()
    yield
    init_model.cache_clear()


@pytest.fixture
def provider() -> Iterator[OpenAIServer]:
    with openai_server() as server:
        yield server


def chat(
    server: OpenAIServer, model: str = "gpt-4o-mini", timeout: float = 5.0, max_retries: int = 2
) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=server.url, api_key="test", model=model, timeout=timeout, max_retries=max_retries
    )


def run_intake_on(model: ChatOpenAI) -> RunOutcome:
    """Procurement with only its intake agent on ``model`` (the rest on their rules)."""
    with use_brain(model, agents={"intake"}):
        return run_chain(build_chain(), example("small_order"))


def mirror(chain: Chain, sources: Any, prompt_tokens: int, completion_tokens: int) -> Responder:
    """Answers every request as the stage's rules brain would (see ``tests.fakes``)."""
    respond = rules_mirror(chain, sources)

    def reply(body: dict[str, Any]) -> ToolCall:
        messages: list[BaseMessage] = [HumanMessage(content=m["content"]) for m in body["messages"]]
        answer = respond(messages, bound_tool(body))
        assert isinstance(answer, dict)
        return ToolCall(answer, prompt_tokens, completion_tokens)

    return reply


# --- the brain ---------------------------------------------------------------------------------


def test_structured_output_is_accepted_and_priced(provider: OpenAIServer) -> None:
    provider.script = [ToolCall(GOOD, prompt_tokens=1000, completion_tokens=200)]
    out = run_intake_on(chat(provider))
    assert out.status == "succeeded"
    first = verdicts_of(out.state)[0]
    assert (first.gate, first.decision) == ("gate intake->inventory", "pass")
    intake = decisions_of(out.state)[0]
    assert (intake.agent, intake.chosen.split(",")[0]) == (
        "intake (llm: gpt-4o-mini)",
        "sku=SKU-CHAIR-01",
    )
    assert intake.tokens == 1200
    assert intake.cost == pytest.approx(MINI.cost(1000, 200)) == pytest.approx(0.00027)
    assert out.state["usage"]["cost"] == pytest.approx(0.00027)
    # What went over the wire: a forced tool call of the contract, no response_format.
    [body] = provider.requests
    assert body["model"] == "gpt-4o-mini"
    assert [t["function"]["name"] for t in body["tools"]] == ["OrderSpec"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "OrderSpec"}}
    assert "response_format" not in body
    assert body["messages"][0]["role"] == "system"
    assert json.loads(body["messages"][-1]["content"])["input"]["request_id"] == "R-1001"


@pytest.mark.parametrize(
    ("bad", "detail", "why"),
    [
        ({**GOOD, "quantity": "twenty"}, "quantity", "does not fit OrderSpec: ValidationError"),
        ('{"sku": "SKU-CHAIR-01", "quantity": ', "Field required", "are not valid JSON"),
    ],
    ids=["wrong-type", "broken-json"],
)
def test_a_malformed_answer_is_caught_by_the_gate_and_still_priced(
    provider: OpenAIServer, bad: Any, detail: str, why: str
) -> None:
    provider.script = [ToolCall(bad), ToolCall(GOOD)]
    out = run_intake_on(chat(provider))
    assert out.status == "succeeded"
    first, second = verdicts_of(out.state)[:2]
    assert first.decision == "revise"
    assert "FM-1.1" in first.mast
    assert first.failed[0].check == "contract"  # (and fidelity, for carried fields it lost)
    assert detail in first.failed[0].detail
    assert (second.gate, second.decision) == ("gate intake->inventory", "pass")
    malformed = decisions_of(out.state)[0]
    assert malformed.chosen == "malformed answer"
    assert why in malformed.rationale
    assert malformed.cost == pytest.approx(MINI.cost(100, 20))  # a bad answer is paid for too
    assert out.state["usage"]["cost"] == pytest.approx(2 * MINI.cost(100, 20))
    assert len(provider.requests) == 2


def test_a_rate_limited_call_is_retried_by_the_client(provider: OpenAIServer) -> None:
    provider.script = [Status(429, {"retry-after-ms": "20"}), ToolCall(GOOD)]
    out = run_intake_on(chat(provider, max_retries=2))
    assert out.status == "succeeded"
    assert len(provider.requests) == 2
    assert verdicts_of(out.state)[0].decision == "pass"  # one agent call, the retry inside it
    assert decisions_of(out.state)[0].tokens == 120


def test_without_retries_a_rate_limit_is_a_failed_check(provider: OpenAIServer) -> None:
    provider.script = [Status(429), ToolCall(GOOD)]
    out = run_intake_on(chat(provider, max_retries=0))
    assert out.status == "succeeded"
    first = verdicts_of(out.state)[0]
    assert (first.decision, first.failed[0].check) == ("revise", "contract")
    refused = decisions_of(out.state)[0]
    assert (refused.chosen, refused.tokens, refused.cost) == ("no answer", 0, 0.0)
    assert "RateLimitError" in refused.rationale


def test_a_timeout_is_recorded_as_a_failed_check_not_a_crash(provider: OpenAIServer) -> None:
    provider.script = [Slow(30), ToolCall(GOOD)]
    started = time.monotonic()
    out = run_intake_on(chat(provider, timeout=0.3, max_retries=0))
    assert time.monotonic() - started < 10
    assert out.status == "succeeded"  # the revision's call answered
    first, second = verdicts_of(out.state)[:2]
    assert (first.decision, first.failed[0].check) == ("revise", "contract")
    assert "FM-1.1" in first.mast
    assert second.decision == "pass"
    timed_out = decisions_of(out.state)[0]
    assert (timed_out.chosen, timed_out.confidence, timed_out.cost) == ("no answer", 0.0, 0.0)
    assert "model call failed: OpenAITimeoutError" in timed_out.rationale


# --- the judge ---------------------------------------------------------------------------------


def _judged(model: ChatOpenAI) -> Chain:
    chain = build_chain()
    judge = llm_judge("po_is_sensible", "The purchase order matches the request.", model)
    edges = tuple(
        replace(e, invariants=(*e.invariants, judge))
        if e.gate == "gate po_draft->place_order"
        else e
        for e in chain.edges
    )
    return replace(chain, edges=edges)


OK = ToolCall({"ok": True, "reason": "matches"})


@pytest.mark.parametrize(
    ("script", "retries", "timeout", "decision", "detail", "calls"),
    [
        ([OK], 2, 5.0, "pass", None, 1),
        ([ToolCall({"ok": "perhaps"})], 2, 5.0, "escalate", "failing closed: ValueError", 1),
        ([Status(429, {"retry-after-ms": "20"}), OK], 2, 5.0, "pass", None, 1),
        ([Slow(30)], 0, 0.3, "escalate", "failing closed: OpenAITimeoutError", 0),
    ],
    ids=["approves", "malformed", "429-then-ok", "timeout"],
)
def test_the_judge_through_the_real_client(
    provider: OpenAIServer,
    script: list[Any],
    retries: int,
    timeout: float,
    decision: str,
    detail: str | None,
    calls: int,
) -> None:
    provider.script = list(script)
    model = chat(provider, timeout=timeout, max_retries=retries)
    out = run_chain(_judged(model), example("small_order"), decide=Recorder("reject"))
    verdict = next(v for v in verdicts_of(out.state) if v.gate == "gate po_draft->place_order")
    assert verdict.decision == decision
    if detail is None:
        assert verdict.failed == []
    else:
        [failed] = verdict.failed
        assert detail in failed.detail
    assert len(provider.requests) == len(script)
    assert provider.requests[0]["tools"][0]["function"]["name"] == "JudgeVerdict"
    # The judge's answers that reported usage are counted in the run's, priced (the other
    # agents run on their rules: the judge is the only model here).
    usage = out.state.get("usage", {})
    assert usage.get("tokens", 0) == calls * 120
    assert usage.get("cost", 0) == pytest.approx(calls * MINI.cost(100, 20))


# --- cost and the `$` budget -------------------------------------------------------------------


def test_a_cost_budget_stops_the_run_before_the_call_that_would_exceed_it(
    provider: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # $100/$400 per 1M tokens; each answer reports 2,000 + 100 tokens: $0.24 a call. After two
    # calls $0.01 of $0.49 is left, less than any third call may cost (its answer alone, 100
    # tokens, may cost $0.04), so the third is never sent.
    monkeypatch.setenv("WAYBILL_MODEL_PRICES", json.dumps({"waybill-test": [100, 400]}))
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "100")
    procurement = build_chain()
    sources = procurement.sources()
    provider.responder = mirror(procurement, sources, prompt_tokens=2000, completion_tokens=100)
    chain = replace(procurement, budgets=procurement.budgets.model_copy(update={"max_cost": 0.49}))
    with use_brain(chat(provider, model="waybill-test")):
        out = run_chain(chain, example("small_order"), ctx=RunContext("cost", sources=sources))
    assert out.status == "failed"
    assert [bound_tool(b) for b in provider.requests] == ["OrderSpec", "StockReport"]
    assert [d.cost for d in decisions_of(out.state)] == [pytest.approx(0.24)] * 2
    assert out.state["usage"]["cost"] == pytest.approx(0.48)
    last = verdicts_of(out.state)[-1]
    assert (last.decision, last.mast) == ("block", ["FM-1.5"])
    reason = out.state["reason"]
    assert "budget:cost would be exceeded by the next call of 'sourcing'" in reason
    assert "$0.4800 of $0.4900 spent, $0.0100 left" in reason


def test_waybill_model_and_openai_base_url_run_a_whole_workflow(
    provider: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_BASE_URL", provider.url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("WAYBILL_LLM_TIMEOUT_S", "5")
    procurement = build_chain()
    sources = procurement.sources()
    provider.responder = mirror(procurement, sources, prompt_tokens=500, completion_tokens=50)
    out = run_chain(procurement, example("small_order"), ctx=RunContext("env", sources=sources))
    assert out.status == "succeeded"
    assert [bound_tool(b) for b in provider.requests] == [
        "OrderSpec",
        "StockReport",
        "SupplierChoice",
        "PurchaseOrder",
        "OrderPlaced",
    ]
    decisions = decisions_of(out.state)
    assert all(d.agent.endswith("(llm: gpt-4o-mini)") for d in decisions)
    assert out.state["usage"]["tokens"] == 5 * 550
    assert out.state["usage"]["cost"] == pytest.approx(5 * MINI.cost(500, 50))

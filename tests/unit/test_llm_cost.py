"""What model calls cost: the price table, cost on every decision, the `$` budget (no network)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from agents.llm import Price, price_of, usage_by_stage, usage_lines, usage_text, use_brain
from agents.llm.brain import LlmSpec, ask_model
from agents.llm.prices import LIST_PRICES, warn_unpriced
from agents.procurement.contracts import OrderSpec, PurchaseRequest
from agents.refund.chain import build_chain as build_refund
from graph.agent import AgentContext
from graph.budget import BudgetExhausted, BudgetLeft
from graph.chain import Chain
from graph.runtime.runner import run_chain
from state.budgets import Budgets
from state.decisions import DecisionRecord
from state.run_state import decisions_of, verdicts_of
from state.settings import get_settings
from tests.fakes import FakeChatModel, rules_mirror
from tests.unit.conftest import example


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)
    monkeypatch.delenv("WAYBILL_MODEL_PRICES", raising=False)


def _prices(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[float]]) -> None:
    monkeypatch.setenv("WAYBILL_MODEL_PRICES", json.dumps(table))


# --- the price table -------------------------------------------------------------------------


def test_list_prices_cover_dated_snapshots_and_latest_aliases() -> None:
    assert price_of("gpt-4o-mini") == Price(0.15, 0.60)
    assert price_of("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60)
    assert price_of("gpt-4o-2024-08-06") == Price(2.50, 10.00)
    assert price_of("claude-3-5-haiku-20241022") == price_of("claude-3-5-haiku-latest")
    assert price_of("claude-3-5-haiku-latest") == Price(0.80, 4.00)
    # Only a date or `-latest` is dropped: another model of the same family is not guessed at.
    assert price_of("gpt-4o-mini-search-preview") is None
    assert price_of("my-finetune") is None


def test_settings_add_and_override_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    _prices(monkeypatch, {"my-finetune": [0.5, 1.5], "gpt-4o-mini": [0.1, 0.2]})
    assert price_of("my-finetune") == Price(0.5, 1.5)
    assert price_of("gpt-4o-mini-2024-07-18") == Price(0.1, 0.2)
    assert price_of("gpt-4o") == LIST_PRICES["gpt-4o"]


@pytest.mark.parametrize("bad", ['{"m": [-1, 2]}', '{"m": [1]}', '{"m": "cheap"}'])
def test_a_bad_price_setting_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("WAYBILL_MODEL_PRICES", bad)
    with pytest.raises(ValidationError, match="model_prices"):
        get_settings()


def test_a_price_is_per_million_tokens() -> None:
    assert Price(2.0, 8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)
    assert Price(0.15, 0.60).cost(1_000, 200) == pytest.approx(0.00027)


# --- cost on every call ----------------------------------------------------------------------


def _ask(fake: FakeChatModel, budget: BudgetLeft | None = None) -> Any:
    inp = PurchaseRequest.model_validate(example("small_order"))
    ctx = AgentContext(run_id="r", stage="intake", attempt=1, budget=budget or BudgetLeft())
    return ask_model(fake, LlmSpec("Parse it."), OrderSpec, inp, ctx, "intake")


GOOD = {
    "request_id": "R-1001",
    "requester": "ana@example.com",
    "cost_center": "OPS-12",
    "text": "Please order 20 units of SKU-CHAIR-01 for the new hires, needed by 2099-01-15.",
    "sku": "SKU-CHAIR-01",
    "quantity": 20,
    "need_by": "2099-01-15",
}


@pytest.mark.parametrize(
    "answer", [GOOD, {**GOOD, "quantity": "twenty"}, "no tool call"], ids=["valid", "bad", "text"]
)
def test_every_answered_call_is_priced_from_its_reported_usage(
    monkeypatch: pytest.MonkeyPatch, answer: Any
) -> None:
    _prices(monkeypatch, {"fake": [1000, 4000]})
    fake = FakeChatModel(answers=[answer], tokens_per_call=100, output_tokens_per_call=50)
    decision = _ask(fake).decision
    assert decision.tokens == 150
    assert decision.cost == pytest.approx((100 * 1000 + 50 * 4000) / 1e6)


def test_a_failed_call_reports_no_usage_and_costs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _prices(monkeypatch, {"fake": [1000, 4000]})
    decision = _ask(FakeChatModel(answers=[TimeoutError("provider timed out")])).decision
    assert (decision.chosen, decision.tokens, decision.cost) == ("no answer", 0, 0.0)


def test_an_unpriced_model_costs_nothing_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    warn_unpriced.cache_clear()
    fake = FakeChatModel(answers=[GOOD, GOOD], tokens_per_call=100)
    with caplog.at_level(logging.WARNING, logger="agents.llm.prices"):
        costs = [_ask(fake).decision.cost, _ask(fake).decision.cost]
    assert costs == [0.0, 0.0]
    [record] = caplog.records
    assert "no price known for model 'fake'" in record.getMessage()


def test_an_unpriced_model_is_refused_under_a_cost_budget() -> None:
    fake = FakeChatModel(answers=[GOOD])
    with pytest.raises(BudgetExhausted, match="no price is known for model 'fake'"):
        _ask(fake, BudgetLeft(cost=5.0, cost_limit=5.0))
    assert fake.calls == []


# --- the `$` budget, before the call ---------------------------------------------------------


def _refund_run(chain: Chain, fake: FakeChatModel) -> Any:
    request = json.loads(chain.examples["broken_lamp"].read_text())
    with use_brain(fake):
        return run_chain(chain, request)


def test_a_call_that_would_exceed_the_cost_budget_is_never_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # $0.001 a token; each answer reports 300 tokens ($0.30). The third prompt (~356 tokens)
    # plus a 100-token answer may cost $0.456, more than the $0.40 left: it is never sent.
    _prices(monkeypatch, {"fake": [1000, 1000]})
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "100")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_cost=1.0, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=300)
    out = _refund_run(chain, fake)
    assert out.status == "failed"
    assert len(fake.calls) == 2
    assert out.state["usage"]["cost"] == pytest.approx(0.6)
    last = verdicts_of(out.state)[-1]
    assert (last.decision, last.mast) == ("block", ["FM-1.5"])
    reason = out.state["reason"]
    assert "budget:cost would be exceeded by the next call of 'policy'" in reason
    assert "$0.6000 of $1.0000 spent, $0.4000 left" in reason


def test_the_same_run_within_its_cost_budget_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    _prices(monkeypatch, {"fake": [1000, 1000]})
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "100")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_cost=2.0, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=300)
    out = _refund_run(chain, fake)
    assert out.status == "succeeded"
    assert out.state["usage"]["cost"] == pytest.approx(0.3 * len(fake.calls))


# --- usage as a user reads it ----------------------------------------------------------------


def test_usage_is_written_in_tokens_and_dollars() -> None:
    assert usage_text(1234, 0.0012) == "1,234 tokens, $0.0012"
    assert usage_text(1200, 0.00027) == "1,200 tokens, $0.00027"
    assert usage_text(2_000_000, 12.5) == "2,000,000 tokens, $12.5000"
    assert usage_text(0, 0.0) == ""


def test_usage_is_summed_per_stage_over_attempts() -> None:
    def d(stage: str, tokens: int, cost: float) -> DecisionRecord:
        return DecisionRecord(stage=stage, chosen="x", rationale="y", tokens=tokens, cost=cost)

    decisions = [d("intake", 100, 0.001), d("inventory", 0, 0.0), d("intake", 50, 0.0005)]
    [intake] = usage_by_stage(decisions)
    assert (intake.stage, intake.calls, intake.tokens) == ("intake", 2, 150)
    assert intake.cost == pytest.approx(0.0015)
    assert usage_lines(decisions) == [
        "model usage: 150 tokens, $0.0015",
        "  intake  150 tokens, $0.0015 (2 calls)",
    ]


def test_a_run_on_llm_brains_reports_usage_per_stage(
    monkeypatch: pytest.MonkeyPatch, procurement: Chain
) -> None:
    _prices(monkeypatch, {"fake": [1000, 4000]})
    sources = procurement.sources()
    fake = FakeChatModel(
        responder=rules_mirror(procurement, sources), tokens_per_call=10, output_tokens_per_call=5
    )
    with use_brain(fake, agents={"intake", "sourcing"}):
        out = run_chain(procurement, example("small_order"))
    assert out.status == "succeeded"
    stages = usage_by_stage(decisions_of(out.state))
    assert [(s.stage, s.tokens) for s in stages] == [("intake", 15), ("sourcing", 15)]
    assert sum(s.cost for s in stages) == pytest.approx(out.state["usage"]["cost"])
    assert out.state["usage"]["cost"] == pytest.approx(2 * (10 * 1000 + 5 * 4000) / 1e6)

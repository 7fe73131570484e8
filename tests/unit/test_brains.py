"""LLM brains and the LLM judge, driven by the one shared fake chat model (no network)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any

import pytest

from agents.llm import ModelConfigError, init_model, llm_judge, model_for, use_brain
from agents.llm.brain import LlmSpec, ask_model
from agents.procurement import agents as procurement_agents
from agents.procurement.contracts import OrderSpec, PurchaseRequest
from graph.agent import AgentContext
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import run_chain
from state.run_state import actions_of, decisions_of, verdicts_of
from tests.fakes import FakeChatModel, prompt_document, rules_mirror
from tests.unit.conftest import Recorder, example


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)
    init_model.cache_clear()


def _spec(**changes: Any) -> dict[str, Any]:
    good = {
        "request_id": "R-1001",
        "requester": "ana@example.com",
        "cost_center": "OPS-12",
        "text": "Please order 20 units of SKU-CHAIR-01 for the new hires, needed by 2099-01-15.",
        "sku": "SKU-CHAIR-01",
        "quantity": 20,
        "need_by": "2099-01-15",
    }
    return {**good, **changes}


# --- choosing the brain --------------------------------------------------------------------


def test_rules_are_the_default_brain(procurement: Chain) -> None:
    assert model_for("intake") is None
    out = run_chain(procurement, example("small_order"))
    assert out.status == "succeeded"
    assert all("llm" not in d.agent for d in decisions_of(out.state))


def test_waybill_model_is_read_when_the_agent_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_MODEL", "nosuchprovider:big-model")
    with pytest.raises(ModelConfigError) as info:
        model_for("intake")
    assert "\n" not in str(info.value)
    assert "unknown provider 'nosuchprovider'" in str(info.value)


# Groq's package is in no extra (langchain-openai is in `dev`, so it is installed here).
@pytest.mark.skipif(
    importlib.util.find_spec("langchain_groq") is not None
    or importlib.util.find_spec("langchain") is not None,
    reason="the optional provider package is installed here",
)
def test_missing_provider_package_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_MODEL", "groq:llama-3.3-70b-versatile")
    with pytest.raises(ModelConfigError) as info:
        model_for("intake")
    assert str(info.value) == (
        "WAYBILL_MODEL=groq:llama-3.3-70b-versatile needs the optional package langchain-groq: "
        "pip install langchain-groq"
    )


def test_a_configured_client_gets_the_timeout_and_retry_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("langchain_openai")  # in the dev extra; building a client is offline
    from langchain_openai import ChatOpenAI  # only after the skip check: an optional extra

    monkeypatch.setenv("WAYBILL_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("WAYBILL_LLM_TIMEOUT_S", "7.5")
    monkeypatch.setenv("WAYBILL_LLM_MAX_RETRIES", "4")
    model = model_for("intake")
    assert isinstance(model, ChatOpenAI)
    assert (model.request_timeout, model.max_retries) == (7.5, 4)


def test_a_spec_without_a_provider_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="not of the form provider:model"):
        init_model("gpt-4o-mini")


def test_override_covers_only_the_named_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeChatModel()
    monkeypatch.setenv("WAYBILL_MODEL", "nosuchprovider:x")  # would fail if it were read
    with use_brain(fake, agents={"intake"}):
        assert model_for("intake") is fake
        assert model_for("inventory") is None
    with use_brain(None):
        assert model_for("intake") is None


# --- structured output into the contract ---------------------------------------------------


def _ask(fake: FakeChatModel) -> Any:
    inp = PurchaseRequest.model_validate(example("small_order"))
    ctx = AgentContext(run_id="r", stage="intake", attempt=2, feedback=["[domain] fix it"])
    return ask_model(fake, LlmSpec("Parse it."), OrderSpec, inp, ctx, "intake")


def test_a_valid_answer_is_the_contract_with_usage_recorded() -> None:
    fake = FakeChatModel(answers=[_spec()], tokens_per_call=42)
    result = _ask(fake)
    assert isinstance(result.output, OrderSpec)
    assert result.output.quantity == 20
    assert result.decision.tokens == 42
    assert result.decision.agent == "intake (llm: fake)"
    [(messages, tool)] = fake.calls
    assert tool == "OrderSpec"
    document = prompt_document(messages)
    assert document["input"]["text"].startswith("Please order 20 units")
    assert document["gate_feedback"] == ["[domain] fix it"]
    assert "request_id" in str(messages[0].content)  # carried fields are named


@pytest.mark.parametrize(
    ("answer", "payload"),
    [
        (_spec(quantity="twenty"), _spec(quantity="twenty")),
        (_spec(colour="red"), _spec(colour="red")),
        ({"sku": "SKU-CHAIR-01"}, {"sku": "SKU-CHAIR-01"}),
        ("Sure! 20 chairs.", {}),
        (TimeoutError("provider timed out"), {}),
    ],
    ids=["wrong-type", "extra-field", "missing-fields", "no-tool-call", "call-fails"],
)
def test_a_bad_answer_is_handed_on_as_given(answer: Any, payload: dict[str, Any]) -> None:
    result = _ask(FakeChatModel(answers=[answer]))
    assert result.output is None  # not a valid contract: the raw answer goes to the gate
    assert result.payload() == payload
    assert result.decision.confidence == 0.0
    assert result.decision.chosen in {"malformed answer", "no answer"}


def test_procurement_malformed_answer_is_caught_by_the_gate_then_revised(
    procurement: Chain,
) -> None:
    fake = FakeChatModel(answers=[_spec(quantity="twenty"), _spec(quantity=20)])
    with use_brain(fake, agents={"intake"}):
        out = run_chain(procurement, example("small_order"))
    assert out.status == "succeeded"
    first, second = verdicts_of(out.state)[:2]
    assert (first.gate, first.decision, first.mast) == (
        "gate intake->inventory",
        "revise",
        ["FM-1.1"],
    )
    assert [c.check for c in first.failed] == ["contract"]
    assert "quantity" in first.failed[0].detail
    assert (second.gate, second.decision) == ("gate intake->inventory", "pass")
    assert len(fake.calls) == 2
    assert any("[contract]" in r for r in prompt_document(fake.calls[1][0])["gate_feedback"])


def test_procurement_runs_entirely_on_llm_brains(procurement: Chain) -> None:
    sources = procurement.sources()
    fake = FakeChatModel(responder=rules_mirror(procurement, sources))
    ctx = RunContext(run_id="llm-all", sources=sources)
    with use_brain(fake):
        out = run_chain(procurement, example("small_order"), ctx=ctx, run_id="llm-all")
    assert out.status == "succeeded"
    assert [tool for _, tool in fake.calls] == [
        "OrderSpec",
        "StockReport",
        "SupplierChoice",
        "PurchaseOrder",
        "OrderPlaced",
    ]
    assert all(d.agent.endswith("(llm: fake)") for d in decisions_of(out.state))
    assert out.state["usage"]["tokens"] == 5 * fake.tokens_per_call
    [action] = actions_of(out.state)
    assert (action.status, action.args["quantity"]) == ("executed", 15)
    assert "stock" in prompt_document(fake.calls[1][0])["context"]


def test_the_rules_brain_is_unchanged_by_the_wrapper() -> None:
    inp = PurchaseRequest.model_validate(example("small_order"))
    ctx = AgentContext(run_id="r", stage="intake", attempt=1)
    wrapped = procurement_agents.intake(inp, ctx)
    direct = procurement_agents.intake.__wrapped__(inp, ctx)  # type: ignore[attr-defined]
    assert wrapped.output == direct.output
    assert procurement_agents.intake.__name__ == "intake"


# --- the LLM judge -------------------------------------------------------------------------


def _judged(chain: Chain, judge_model: FakeChatModel | None) -> Chain:
    judge = llm_judge("po_is_sensible", "The purchase order matches the request.", judge_model)
    edges = tuple(
        replace(e, invariants=(*e.invariants, judge))
        if e.gate == "gate po_draft->place_order"
        else e
        for e in chain.edges
    )
    return replace(chain, edges=edges)


def _judge_verdict(chain: Chain) -> tuple[str, list[str], list[str]]:
    out = run_chain(chain, example("small_order"), decide=Recorder("reject"))
    verdict = next(v for v in verdicts_of(out.state) if v.gate == "gate po_draft->place_order")
    return verdict.decision, list(verdict.mast), [c.detail for c in verdict.failed]


def test_judge_passes_what_it_approves(procurement: Chain) -> None:
    fake = FakeChatModel(answers=[{"ok": True, "reason": "matches"}])
    assert _judge_verdict(_judged(procurement, fake)) == ("pass", [], [])
    assert fake.calls[0][1] == "JudgeVerdict"


def test_judge_rejection_escalates_with_its_reason(procurement: Chain) -> None:
    fake = FakeChatModel(answers=[{"ok": False, "reason": "wrong supplier"}])
    decision, mast, details = _judge_verdict(_judged(procurement, fake))
    assert (decision, mast) == ("escalate", ["FM-1.1"])
    assert details == ["judge 'po_is_sensible': wrong supplier"]


@pytest.mark.parametrize(
    "answer", [RuntimeError("rate limited"), "looks fine to me", {"ok": "perhaps"}]
)
def test_judge_fails_closed_on_a_bad_answer(procurement: Chain, answer: Any) -> None:
    decision, _, [detail] = _judge_verdict(_judged(procurement, FakeChatModel(answers=[answer])))
    assert decision == "escalate"
    assert "failing closed" in detail


def test_judge_without_a_model_fails_closed(procurement: Chain) -> None:
    decision, _, [detail] = _judge_verdict(_judged(procurement, None))
    assert decision == "escalate"
    assert "has no model" in detail

"""The refund agents on an LLM brain, driven by the shared fake chat model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.llm import use_brain
from agents.refund.chain import build_chain
from agents.refund.domain import Payments
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import run_chain
from state.run_state import decisions_of, verdicts_of
from tests.fakes import FakeChatModel, prompt_document, rules_mirror
from tests.unit.conftest import Recorder


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)


@pytest.fixture
def refund() -> Chain:
    return build_chain()


def _ticket(chain: Chain, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


def test_malformed_extraction_is_a_failed_contract_check_not_a_crash(refund: Chain) -> None:
    ticket = _ticket(refund, "broken_lamp")
    claim = {
        **ticket,
        "category": "refund",
        "confidence": 0.95,
        "acknowledgement": "Thanks for your message. We are looking into it and will reply "
        "shortly.",
        "order_id": "ORD-1001",
        "amount_basis": "order_total",
    }
    fake = FakeChatModel(answers=[{**claim, "amount": "the full price"}, {**claim, "amount": 49.9}])
    with use_brain(fake, agents={"extract"}):
        out = run_chain(refund, ticket, decide=Recorder("approve"))
    assert out.status == "succeeded"
    first = verdicts_of(out.state)[1]
    assert (first.gate, first.decision, first.mast) == (
        "gate extract->policy",
        "revise",
        ["FM-1.1"],
    )
    assert "amount" in first.failed[0].detail
    assert "order" in prompt_document(fake.calls[0][0])["context"]
    assert len(fake.calls) == 2


def test_a_model_that_never_answers_well_is_escalated_to_a_human(refund: Chain) -> None:
    fake = FakeChatModel(answers=["I cannot help with refunds."] * 2)
    decide = Recorder("reject")
    with use_brain(fake, agents={"classify"}):
        out = run_chain(refund, _ticket(refund, "broken_lamp"), decide=decide)
    assert out.status == "rejected"
    # The same empty answer twice is also a loop: a human gets it before the revision budget ends.
    first, second = verdicts_of(out.state)
    assert (first.decision, second.decision) == ("revise", "escalate")
    assert {"contract", "loop"} <= {c.check for c in second.failed}
    [asked] = decide.asked
    assert asked.kind == "gate"
    assert asked.stage == "classify"


def test_refund_runs_entirely_on_llm_brains(refund: Chain) -> None:
    sources = refund.sources()
    fake = FakeChatModel(responder=rules_mirror(refund, sources))
    ctx = RunContext(run_id="llm-refund", sources=sources)
    with use_brain(fake):
        out = run_chain(refund, _ticket(refund, "broken_lamp"), ctx=ctx)
    assert out.status == "succeeded"
    assert len(fake.calls) == 5
    assert all(d.agent.endswith("(llm: fake)") for d in decisions_of(out.state))
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert [p["amount"] for p in payments.paid.values()] == [49.9]

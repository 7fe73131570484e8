"""The research agents on an LLM brain, driven by the shared fake chat model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.llm import use_brain
from agents.research.chain import build_chain
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.runner import run_chain
from state.run_state import decisions_of, verdicts_of
from tests.fakes import FakeChatModel, prompt_document, rules_mirror


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)


@pytest.fixture
def research() -> Chain:
    return build_chain()


def _request(chain: Chain) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(chain.examples["pilot_brief"].read_text())
    return data


def test_a_summary_the_model_bends_is_caught_at_its_hop(research: Chain) -> None:
    sources = research.sources()
    mirror = rules_mirror(research, sources)

    def bend_once(messages: Any, tool: str) -> Any:
        answer = mirror(messages, tool)
        assert isinstance(answer, dict)
        if tool == "Synthesis" and len([c for c in fake.calls if c[1] == "Synthesis"]) == 1:
            first = answer["findings"][0]
            answer["findings"][0] = {
                **first,
                "text": first["text"].replace("182,000", "1.8 million"),
            }
        return answer

    fake = FakeChatModel(responder=bend_once)
    with use_brain(fake, agents={"synthesise"}):
        out = run_chain(research, _request(research), ctx=RunContext("r-bend", sources=sources))
    assert out.status == "succeeded"
    caught = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert (caught.gate, caught.mast) == ("gate synthesise->fact_check", ["FM-1.4"])
    assert "1.8" in caught.failed[0].detail
    assert prompt_document(fake.calls[1][0])["gate_feedback"]


def test_malformed_notes_are_a_failed_contract_check(research: Chain) -> None:
    sources = research.sources()
    mirror = rules_mirror(research, sources)
    fake = FakeChatModel(answers=[{"brief_id": "B-301", "notes": "see the docs"}], responder=mirror)
    with use_brain(fake, agents={"gather"}):
        out = run_chain(research, _request(research), ctx=RunContext("r-bad", sources=sources))
    assert out.status == "succeeded"
    first = verdicts_of(out.state)[0]
    assert (first.gate, first.decision) == ("gate gather->digest", "revise")
    assert "FM-1.1" in first.mast  # and the carried fields it dropped: FM-1.4, FM-2.4
    assert "contract" in {c.check for c in first.failed}
    assert "documents" in prompt_document(fake.calls[0][0])["context"]


def test_research_runs_entirely_on_llm_brains(research: Chain) -> None:
    sources = research.sources()
    fake = FakeChatModel(responder=rules_mirror(research, sources))
    with use_brain(fake):
        out = run_chain(research, _request(research), ctx=RunContext("r-llm", sources=sources))
    assert out.status == "succeeded"
    assert [t for _, t in fake.calls] == ["Notes", "Digest", "Synthesis", "CheckedSummary", "Brief"]
    assert all(d.agent.endswith("(llm: fake)") for d in decisions_of(out.state))

"""The research reference workflow: a brief from the shipped documents, and its faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.research.chain import build_chain
from agents.research.domain import DOCS, Library, unsupported
from graph.chain import Chain
from graph.runtime.runner import run_chain
from state.run_state import verdicts_of
from tests.unit.conftest import Recorder

# Stated here, not read from the chain, so a change to the chain's declarations is caught.
EXPECTED = {
    "off_topic": ("gate gather->digest", "revise", "FM-2.3"),
    "dropped_caveat": ("gate digest->synthesise", "revise", "FM-2.4"),
    "bent_figure": ("gate synthesise->fact_check", "revise", "FM-1.4"),
    "endless_digging": ("gate synthesise->gather", "escalate", "FM-1.5"),
    "wrong_verdict": ("gate fact_check->write", "revise", "FM-3.3"),
    "early_finish": ("gate write->END", "revise", "FM-3.1"),
}


@pytest.fixture(autouse=True)
def _rules_brains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)


@pytest.fixture(scope="module")
def research() -> Chain:
    return build_chain()


def request(chain: Chain, name: str = "pilot_brief") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


def test_the_document_set_ships_inside_the_package() -> None:
    assert DOCS.parent.name == "research"
    assert {p.name for p in DOCS.glob("*.md")} >= {"ridership.md", "costs.md", "safety.md"}
    safety = Library().read("safety.md")
    assert (safety.version, len(safety.value["sentences"])) == (1, 3)


def test_support_rule() -> None:
    note = "Weekday trips grew 14% between the first and the last month."
    assert unsupported("Weekday trips grew 14%.", [note]) is None
    assert "figures ['42']" in (unsupported("Weekday trips grew 42%.", [note]) or "")
    assert "words" in (unsupported("Weekday trips grew 14% thanks to free helmets.", [note]) or "")
    assert unsupported("Anything.", []) == "it cites no note"


def test_clean_brief_answers_every_question_from_cited_notes(research: Chain) -> None:
    out = run_chain(research, request(research))
    assert out.status == "succeeded"
    assert all(v.decision == "pass" and not v.mast for v in verdicts_of(out.state))
    brief = out.state["handoffs"][-1]["payload"]
    assert [s["question"] for s in brief["sections"]] == brief["questions"]
    assert brief["sources"] == ["costs.md", "ridership.md", "safety.md"]
    safety = brief["sections"][2]["answer"]
    assert "covers only the last three months" in safety  # the caveat survived both hops
    assert "canteen" not in brief["text"]


def test_second_example_matches_two_documents_to_one_question(research: Chain) -> None:
    out = run_chain(research, request(research, "rider_views"))
    assert out.status == "succeeded"
    brief = out.state["handoffs"][-1]["payload"]
    assert brief["sources"] == ["costs.md", "ridership.md", "survey.md"]


def test_every_declared_fault_has_an_expectation(research: Chain) -> None:
    assert {f.name: (f.expect.name, f.expect_mast) for f in research.faults} == {
        name: (gate, code) for name, (gate, _, code) in EXPECTED.items()
    }


@pytest.mark.parametrize("fault", sorted(set(EXPECTED) - {"endless_digging"}))
def test_fault_is_caught_at_its_handoff(research: Chain, fault: str) -> None:
    gate, decision, code = EXPECTED[fault]
    out = run_chain(research, request(research), inject=fault, decide=Recorder("reject"))
    verdicts = verdicts_of(out.state)
    first = next(v for v in verdicts if v.decision != "pass")
    assert (first.gate, first.decision) == (gate, decision)
    assert code in first.mast
    assert all(v.decision == "pass" for v in verdicts[: verdicts.index(first)])
    assert out.status == ("rejected" if decision == "escalate" else "succeeded")


def test_endless_digging_is_stopped_by_the_back_edge_budget(research: Chain) -> None:
    decide = Recorder("reject", user="lead-analyst")
    out = run_chain(research, request(research), inject="endless_digging", decide=decide)
    caught = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    gate, decision, code = EXPECTED["endless_digging"]
    assert (caught.gate, caught.decision, caught.mast) == (gate, decision, [code])
    assert out.status == "rejected"
    assert out.state["traversals"]["synthesise->gather"] == 2
    hops = [h["payload"]["hop"] for h in out.state["handoffs"] if h["stage"] == "gather"]
    assert hops == [0, 1, 2]  # each round differs, so only the budget can end it
    [asked] = decide.asked
    assert "owner: analysts" in asked.what

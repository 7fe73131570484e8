"""Each injected fault is caught by the gate at the handoff where it appears, with its code."""

from __future__ import annotations

import pytest

from graph.chain import Chain
from graph.runtime.runner import run_chain
from state.run_state import verdicts_of
from tests.unit.conftest import Recorder, example

# Stated here, not read from the chain, so a change to the chain's declarations is caught.
EXPECTED = {
    "bad_extraction": ("gate intake->inventory", "revise", "FM-1.1", "domain"),
    "stale_inventory": ("gate inventory->sourcing", "revise", "FM-3.2", "freshness"),
    "ping_pong": ("gate sourcing->po_draft", "escalate", "FM-1.3", "loop"),
    "lossy_summary": ("gate po_draft->place_order", "revise", "FM-1.4", "fidelity"),
    "inflated_order": ("gate place_order->END", "revise", "FM-1.4", "fidelity"),
    "stock_taken_before_order": ("act place_order", "revise", "FM-3.2", "freshness"),
    "crash_after_order": ("act place_order", "escalate", "FM-3.2", "action"),
}


def test_every_declared_fault_has_an_expectation(procurement: Chain) -> None:
    assert {f.name for f in procurement.faults} == set(EXPECTED)
    for fault in procurement.faults:
        gate, _, code, _ = EXPECTED[fault.name]
        assert (fault.expect.name, fault.expect_mast) == (gate, code)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_is_caught_at_its_handoff(procurement: Chain, fault: str) -> None:
    gate, decision, code, check = EXPECTED[fault]
    out = run_chain(procurement, example("small_order"), inject=fault, decide=Recorder("reject"))
    verdicts = verdicts_of(out.state)
    first_failure = next(v for v in verdicts if v.decision != "pass")
    assert first_failure.gate == gate
    assert first_failure.decision == decision
    assert code in first_failure.mast
    assert check in {c.check for c in first_failure.failed}
    # Every gate before it passed: the fault did not slip through an earlier handoff.
    before = verdicts[: verdicts.index(first_failure)]
    assert all(v.decision == "pass" for v in before)


@pytest.mark.parametrize("fault", ["bad_extraction", "stale_inventory", "lossy_summary"])
def test_transient_fault_is_revised_and_the_run_recovers(procurement: Chain, fault: str) -> None:
    out = run_chain(procurement, example("small_order"), inject=fault, decide=Recorder("approve"))
    assert out.status == "succeeded"
    decisions = [v.decision for v in verdicts_of(out.state)]
    assert decisions.count("revise") == 1
    assert decisions[-1] == "pass"


def test_ping_pong_goes_to_a_human_who_can_stop_it(procurement: Chain) -> None:
    decide = Recorder("reject", user="buyer-lead")
    out = run_chain(procurement, example("small_order"), inject="ping_pong", decide=decide)
    assert out.status == "rejected"
    [asked] = decide.asked
    assert asked.kind == "gate"
    assert asked.verdict is not None
    assert "FM-1.3" in asked.verdict.mast
    assert "owner: buyers" in asked.what


def test_clean_run_raises_no_alarm(procurement: Chain) -> None:
    out = run_chain(procurement, example("small_order"))
    assert out.status == "succeeded"
    assert not any(v.mast for v in verdicts_of(out.state))

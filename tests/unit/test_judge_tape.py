"""An LLM judge's answers are on the run's tape: a gate run again gets the first verdict again
with no second call, a replay makes no call, and a changed criterion is a divergence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agents.llm import llm_judge
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.replay import compare, replay_state
from graph.runtime.runner import RunOutcome, run_chain
from graph.tape import Tape, TapeMissingError
from state.run_state import verdicts_of
from state.stores.tape import MemoryTapeStore
from tests.fakes import FakeChatModel
from tests.unit.conftest import Recorder, example

GATE = "gate po_draft->place_order"
CRITERION = "The purchase order matches the request."


def _judged(chain: Chain, model: FakeChatModel | None, criterion: str = CRITERION) -> Chain:
    judge = llm_judge("po_is_sensible", criterion, model)
    edges = tuple(
        replace(e, invariants=(*e.invariants, judge)) if e.gate == GATE else e for e in chain.edges
    )
    return replace(chain, edges=edges)


def _run(chain: Chain, tape: Tape) -> RunOutcome:
    ctx = RunContext(run_id="r1", sources=chain.sources(), tape=tape)
    return run_chain(chain, example("small_order"), run_id="r1", decide=Recorder("reject"), ctx=ctx)


def _judged_verdict(out: RunOutcome) -> tuple[str, list[str]]:
    verdict = next(v for v in verdicts_of(out.state) if v.gate == GATE)
    return verdict.decision, [c.detail for c in verdict.failed]


def test_a_judge_is_asked_once_and_its_verdict_comes_back_from_the_tape(
    procurement: Chain,
) -> None:
    fake = FakeChatModel(answers=[{"ok": False, "reason": "wrong supplier"}], tokens_per_call=11)
    store = MemoryTapeStore()
    first = _run(_judged(procurement, fake), Tape(store))
    assert _judged_verdict(first) == ("escalate", ["judge 'po_is_sensible': wrong supplier"])
    assert len(fake.calls) == 1
    [key] = [k for k in store.entries if k.startswith("model|")]
    assert key.startswith(f"model|{GATE}|")
    assert "|judge:po_is_sensible:" in key
    # The gate runs again on the same tape (as on resume, or after a crash mid-step): the model
    # is not asked again (it has no second answer: a call would fail the check), the verdict
    # and the usage it reported are the same.
    again = _run(_judged(procurement, fake), Tape(store))
    assert len(fake.calls) == 1
    assert _judged_verdict(again) == _judged_verdict(first)
    assert again.state["usage"] == first.state["usage"]
    assert first.state["usage"]["tokens"] == 11


def test_a_replay_asks_no_model_and_a_changed_criterion_diverges(procurement: Chain) -> None:
    fake = FakeChatModel(answers=[{"ok": True, "reason": "matches"}])
    store = MemoryTapeStore()
    recorded = _run(_judged(procurement, fake), Tape(store))
    assert _judged_verdict(recorded) == ("pass", [])
    # No model at all when replaying (as `waybill replay` on a machine without a key).
    tape = Tape(MemoryTapeStore(dict(store.entries)), "replay")
    same = replay_state(
        _judged(procurement, None), example("small_order"), run_id="r1",
        recorded=dict(recorded.state), tape=tape,
    )  # fmt: skip
    assert _judged_verdict(same) == ("pass", [])
    assert compare(dict(recorded.state), dict(same.state)) == []
    assert (tape.computed, len(fake.calls)) == (0, 1)
    # A changed criterion is a question the run never asked: the judge fails closed (no call),
    # so the replayed gate escalates where the run passed, and the replay stops there.
    changed = _judged(procurement, None, "The order is for fewer than ten units.")
    tape = Tape(MemoryTapeStore(dict(store.entries)), "replay")
    with pytest.raises(TapeMissingError, match=r"no human decision was recorded at 'review\|po_"):
        replay_state(
            changed, example("small_order"), run_id="r1", recorded=dict(recorded.state), tape=tape
        )
    assert (tape.computed, len(fake.calls)) == (0, 1)

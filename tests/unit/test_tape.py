"""The run's tape: read-through recording, and replays with no model call (in memory)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from agents.llm import use_brain
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.replay import compare, replay_state
from graph.runtime.runner import run_chain
from graph.tape import Tape, TapeMissingError
from state.budgets import Budgets
from state.stores.tape import MemoryTapeStore
from tests.fakes import FakeChatModel, rules_mirror
from tests.unit.conftest import Recorder, example

State = dict[str, Any]


def _record(chain: Chain, request: dict[str, object]) -> tuple[State, MemoryTapeStore]:
    store = MemoryTapeStore()
    ctx = RunContext(run_id="rec", sources=chain.sources(), tape=Tape(store))
    fake = FakeChatModel(responder=rules_mirror(chain, chain.sources()))
    with use_brain(fake):
        out = run_chain(chain, request, run_id="rec", ctx=ctx, decide=Recorder("approve"))
    assert fake.calls, "the recording ran on the model"
    return dict(out.state), store


def _replay(
    chain: Chain, request: dict[str, object], store: MemoryTapeStore, recorded: State
) -> tuple[State, FakeChatModel]:
    replay_tape = Tape(MemoryTapeStore(dict(store.entries)), mode="replay")
    counting = FakeChatModel(responder=rules_mirror(chain, chain.sources()))
    with use_brain(counting):
        out = replay_state(chain, request, run_id="rec", recorded=recorded, tape=replay_tape)
    assert replay_tape.computed == 0
    return dict(out.state), counting


def test_a_failed_llm_run_replays_exactly_with_zero_model_calls(procurement: Chain) -> None:
    chain = replace(procurement, budgets=Budgets(max_steps=3))
    recorded, tape = _record(chain, example("small_order"))
    assert recorded["status"] == "failed"
    replayed, counting = _replay(chain, example("small_order"), tape, recorded)
    assert len(counting.calls) == 0
    assert replayed["status"] == "failed"
    assert compare(recorded, replayed) == []


def test_an_escalated_run_replays_its_human_decision(procurement: Chain) -> None:
    recorded, tape = _record(procurement, example("large_order"))
    assert recorded["status"] == "succeeded"
    assert any(k.startswith("human|action|place_order") for k in tape.entries)
    replayed, counting = _replay(procurement, example("large_order"), tape, recorded)
    assert len(counting.calls) == 0
    assert compare(recorded, replayed) == []


def test_a_changed_gate_shows_as_a_divergence(procurement: Chain) -> None:
    recorded, tape = _record(procurement, example("small_order"))
    stricter = replace(procurement, budgets=Budgets(max_steps=2))  # what if we had this budget?
    replayed, _ = _replay(stricter, example("small_order"), tape, recorded)
    diff = compare(recorded, replayed)
    assert replayed["status"] == "failed"
    assert any(line.startswith("replay only:   status failed") for line in diff)


def test_a_replay_never_calls_what_was_not_recorded(procurement: Chain) -> None:
    recorded, tape = _record(procurement, example("small_order"))
    with pytest.raises(TapeMissingError, match="agent\\|intake"):
        _replay(procurement, example("large_order"), tape, recorded)  # another input


def test_a_rerun_node_gets_the_first_answer_again() -> None:
    tape = Tape(MemoryTapeStore())
    answers = iter([({"a": 1}, {"chosen": "x"}), ({"a": 2}, {"chosen": "y"})])
    first = tape.agent("s|1|1", lambda: next(answers))
    again = tape.agent("s|1|1", lambda: next(answers))  # LangGraph re-ran the node on resume
    assert first == again == ({"a": 1}, {"chosen": "x"})
    assert tape.computed == 1

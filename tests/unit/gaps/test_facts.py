"""Facts and fidelity: Decimal values compared as values, facts checked in optional and list
fields, a raising invariant that hides no other, a carried field with a typo, and replays that
judge TTLs by the run's own clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

import pytest

from agents.procurement.domain import SupplierPortal
from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Fault, FaultContext, Invariant, InvariantContext
from graph.context import RunContext, source_of
from graph.runtime.replay import compare, recorded_ledger
from graph.runtime.runner import run_chain
from graph.tape import Tape
from graph.validate import ChainError, validate_chain
from state.clock import utcnow
from state.contracts import Carried, Contract, Fact
from state.decisions import Decision, EscalationRequest
from state.nodes import END, gate_node
from state.run_state import actions_of, verdicts_of
from state.stores.tape import MemoryTapeStore
from tests.unit.conftest import Recorder, example
from tests.unit.gaps.meters import ASK, Meter, meter_chain


def test_decimal_fidelity_compares_values_not_text() -> None:
    out = run_chain(meter_chain(), ASK)
    assert out.status == "succeeded"
    assert out.state["handoffs"][-1]["payload"]["amount"] == "10000.4900"
    assert all(v.decision == "pass" for v in verdicts_of(out.state))


def _second_meter_moves(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    meters = fctx.sources["meters"]
    assert isinstance(meters, Meter)
    meters.versions["m2"] += 1
    return payload


def test_a_fact_inside_a_list_is_checked_and_sent_back_to_its_reader() -> None:
    fault = Fault(
        name="m2_moves",
        stage="bill",
        mode="stale_state",
        description="the second meter is read again by the utility after bill passed it on",
        apply=_second_meter_moves,
        expect=gate_node("bill", END),
        expect_mast="FM-3.2",
    )
    chain = meter_chain(faults=(fault,))
    out = run_chain(chain, ASK, inject="m2_moves")
    stale = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert stale.gate == "gate bill->END"
    [failed] = stale.failed
    assert failed.name == "freshness:history.1"
    # bill only passed the reading on: it goes back to 'read', which reads the meter again.
    assert (stale.decision, stale.send_back_to) == ("revise", "read")
    assert [h["stage"] for h in out.state["handoffs"]] == ["read", "bill", "read", "bill"]
    assert out.status == "succeeded"
    assert out.state["handoffs"][-1]["payload"]["history"][1]["version"] == 2


def test_an_optional_fact_is_checked_too() -> None:
    def latest_moves(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
        meters = fctx.sources["meters"]
        assert isinstance(meters, Meter)
        meters.versions["m1"] += 1
        return payload

    fault = Fault(
        "m1", "read", "stale_state", "m1 moves", gate_node("read", "bill"), "FM-3.2", latest_moves
    )
    out = run_chain(meter_chain(faults=(fault,)), ASK, inject="m1")
    stale = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    assert {c.name for c in stale.failed} == {"freshness:latest", "freshness:history.0"}


def test_one_raising_invariant_does_not_hide_the_others() -> None:
    def broken(out: Contract, ictx: InvariantContext) -> str | None:
        raise KeyError("rates")

    def strict(out: Contract, ictx: InvariantContext) -> str | None:
        return "amount above the account's limit"

    chain = meter_chain(
        Invariant("broken", broken, ("FM-3.2",)), Invariant("strict", strict, ("FM-2.6",))
    )
    out = run_chain(chain, ASK, decide=Recorder("reject"))
    verdict = next(v for v in verdicts_of(out.state) if v.decision != "pass")
    by_name = {c.name: c for c in verdict.failed}
    assert set(by_name) == {"broken", "strict"}
    assert "could not run: KeyError" in by_name["broken"].detail
    assert by_name["strict"].detail == "amount above the account's limit"
    assert set(verdict.mast) == {"FM-2.6", "FM-3.2"}


class Typo(Contract):
    acount: Annotated[str, Carried()]
    amount: Annotated[Decimal, Carried()]
    latest: Fact | None
    history: list[Fact]


def test_a_carried_field_with_no_match_upstream_is_a_build_error() -> None:
    chain = meter_chain()

    def typo(inp: Contract, ctx: AgentContext) -> AgentResult[Typo]:
        raise NotImplementedError  # never called: the chain does not build

    stages = (replace(chain.stages[0], agent=typo, produces=Typo), chain.stages[1])
    with pytest.raises(ChainError) as err:
        validate_chain(replace(chain, stages=stages))
    assert "carried field 'acount' of Typo has no field of that name in its input Ask" in str(
        err.value
    )


def test_an_old_run_replays_identical(procurement: Chain) -> None:
    store = MemoryTapeStore()
    ctx = RunContext(run_id="old", sources=procurement.sources(), tape=Tape(store))
    recorded = run_chain(procurement, example("small_order"), run_id="old", ctx=ctx)
    assert recorded.status == "succeeded"
    tape = Tape(MemoryTapeStore(dict(store.entries)), mode="replay")
    later = utcnow() + timedelta(hours=3)  # the stock reading's TTL is 15 minutes

    def decide(req: EscalationRequest) -> Decision:
        return Decision.model_validate(tape.decision_for(req.scope))

    ledger = recorded_ledger(dict(recorded.state))  # the recorded results stand in for actions
    ctx = RunContext(
        run_id="old", sources=procurement.sources(), tape=tape, clock=lambda: later, ledger=ledger
    )
    replayed = run_chain(procurement, example("small_order"), run_id="old", ctx=ctx, decide=decide)
    assert tape.computed == 0
    assert compare(dict(recorded.state), dict(replayed.state)) == []


def test_a_replay_never_calls_an_action_it_has_no_result_for(procurement: Chain) -> None:
    """Without the recorded results, the order is simulated, not placed again."""
    store = MemoryTapeStore()
    ctx = RunContext(run_id="old", sources=procurement.sources(), tape=Tape(store))
    run_chain(procurement, example("small_order"), run_id="old", ctx=ctx)
    fresh = procurement.sources()
    tape = Tape(MemoryTapeStore(dict(store.entries)), mode="replay")
    ctx = RunContext(run_id="old", sources=fresh, tape=tape)
    replayed = run_chain(procurement, example("small_order"), run_id="old", ctx=ctx)
    assert replayed.status == "succeeded"
    assert [a.status for a in actions_of(replayed.state)] == ["simulated"]
    assert source_of(fresh, "portal", SupplierPortal).orders == {}

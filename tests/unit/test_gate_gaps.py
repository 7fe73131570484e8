"""Silent gaps a forker could fall into, closed: each found by writing a workflow against the
public API (typo'd carried fields, facts in optional or list fields, Decimal fidelity, a raising
invariant, stale facts passed on, replays of old runs, agents that raise, budgets)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

import pytest

from agents.llm import use_brain
from agents.refund.chain import build_chain as build_refund
from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Edge, Fault, FaultContext, Invariant, InvariantContext, Stage
from graph.context import RunContext
from graph.runtime.replay import compare
from graph.runtime.runner import InputError, run_chain
from graph.tape import Tape
from graph.validate import ChainError, validate_chain
from state.budgets import Budgets
from state.clock import utcnow
from state.contracts import Carried, Contract, Fact
from state.decisions import Decision, DecisionRecord, EscalationRequest
from state.nodes import END, gate_node
from state.run_state import verdicts_of
from state.stores.tape import MemoryTapeStore
from tests.fakes import FakeChatModel, rules_mirror
from tests.unit.conftest import Recorder, example

# --- a small workflow: read meters, pass them on, bill -----------------------------------------


class Meter:
    name = "meters"

    def __init__(self) -> None:
        self.versions = {"m1": 1, "m2": 1}

    def read(self, key: str) -> Fact:
        return Fact(
            value=10 * self.versions[key], source=self.name, key=key, version=self.versions[key]
        )


class Ask(Contract):
    account: str
    amount: Decimal


class Read(Contract):
    account: Annotated[str, Carried()]
    amount: Annotated[Decimal, Carried()]
    latest: Fact | None
    history: list[Fact]


class Bill(Read):
    latest: Annotated[Fact | None, Carried()]
    history: Annotated[list[Fact], Carried()]
    billed: bool


def _read(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
    assert isinstance(inp, Ask)
    src = ctx.sources["meters"]
    out = Read(
        account=inp.account,
        amount=inp.amount,
        latest=src.read("m1"),
        history=[src.read("m1"), src.read("m2")],
    )
    return AgentResult(out, DecisionRecord(chosen="read", rationale="two meters"))


def _bill(inp: Contract, ctx: AgentContext) -> AgentResult[Bill]:
    assert isinstance(inp, Read)
    # Re-serialised with a trailing zero: the same amount, as a user means it.
    amount = Decimal(str(inp.amount) + "0") if "." in str(inp.amount) else inp.amount
    out = Bill(**{**dict(inp), "amount": amount}, billed=True)
    return AgentResult(out, DecisionRecord(chosen="bill", rationale="bill it"))


def meter_chain(*invariants: Invariant[Any], faults: tuple[Fault, ...] = ()) -> Chain:
    return Chain(
        name="meters",
        description="test",
        entry="read",
        stages=(
            Stage("read", _read, Ask, Read, owner="ops"),
            Stage("bill", _bill, Read, Bill, owner="ops"),
        ),
        edges=(Edge("read", "bill"), Edge("bill", END, invariants=invariants)),
        sources=lambda: {"meters": Meter()},
        faults=faults,
    )


ASK = {"account": "A-1", "amount": "10000.490"}


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


# --- build errors ---------------------------------------------------------------------------------


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


# --- agents that raise or return the wrong thing ----------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("raise", "the agent raised ZeroDivisionError: division by zero"),
        ("dict", "the agent returned dict, not an AgentResult"),
        ("wrong", "the agent returned a Ask; 'read' produces Read"),
    ],
)
def test_an_agent_that_fails_is_a_failed_check_then_a_human(behaviour: str, error: str) -> None:
    def bad(inp: Contract, ctx: AgentContext) -> Any:
        if behaviour == "raise":
            return 1 / 0
        if behaviour == "dict":
            return {"account": "A-1"}
        return AgentResult(inp, DecisionRecord(chosen="x", rationale="y"))

    chain = meter_chain()
    chain = replace(chain, stages=(replace(chain.stages[0], agent=bad), chain.stages[1]))
    out = run_chain(chain, ASK)
    assert out.status == "waiting"  # a verdict and a waiting run, never a crash
    first = verdicts_of(out.state)[0]
    assert (first.gate, first.decision) == ("gate read->bill", "revise")
    assert next((c.check, c.detail) for c in first.failed) == ("agent", error)
    assert out.pending is not None
    assert out.pending.allowed == ["edit", "reject"]  # an absent payload cannot be approved


def test_an_agent_that_raises_once_recovers_on_revision() -> None:
    calls = {"n": 0}

    def flaky(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("model timed out")
        return _read(inp, ctx)

    chain = meter_chain()
    chain = replace(chain, stages=(replace(chain.stages[0], agent=flaky), chain.stages[1]))
    out = run_chain(chain, ASK)
    assert out.status == "succeeded"
    assert [v.decision for v in verdicts_of(out.state)] == ["revise", "pass", "pass"]


# --- replays judge TTLs as the run did ---------------------------------------------------------


def test_an_old_run_replays_identical(procurement: Chain) -> None:
    store = MemoryTapeStore()
    ctx = RunContext(run_id="old", sources=procurement.sources(), tape=Tape(store))
    recorded = run_chain(procurement, example("small_order"), run_id="old", ctx=ctx)
    assert recorded.status == "succeeded"
    tape = Tape(MemoryTapeStore(dict(store.entries)), mode="replay")
    later = utcnow() + timedelta(hours=3)  # the stock reading's TTL is 15 minutes

    def decide(req: EscalationRequest) -> Decision:
        return Decision.model_validate(tape.decision_for(req.scope))

    ctx = RunContext(run_id="old", sources=procurement.sources(), tape=tape, clock=lambda: later)
    replayed = run_chain(procurement, example("small_order"), run_id="old", ctx=ctx, decide=decide)
    assert tape.computed == 0
    assert compare(dict(recorded.state), dict(replayed.state)) == []


# --- budgets: checked before spending, messages name limit and spend ---------------------------


def test_a_model_call_that_would_exceed_the_token_budget_is_never_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "50")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_tokens=700, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=300)
    request = example_of(refund, "broken_lamp")
    with use_brain(fake):
        out = run_chain(chain, request)
    assert out.status == "failed"
    assert len(fake.calls) == 2  # 600 spent; the third call would need more than the 100 left
    last = verdicts_of(out.state)[-1]
    assert (last.decision, last.mast) == ("block", ["FM-1.5"])
    reason = out.state["reason"]
    assert "budget:tokens would be exceeded by the next call of 'policy'" in reason
    assert "600 of 700 spent, 100 left" in reason


def test_a_spent_token_budget_names_limit_and_spend_at_the_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAYBILL_LLM_MAX_OUTPUT_TOKENS", "1")
    refund = build_refund()
    chain = replace(refund, budgets=Budgets(max_tokens=200, max_steps=20))
    fake = FakeChatModel(responder=rules_mirror(refund, refund.sources()), tokens_per_call=250)
    with use_brain(fake, agents={"classify"}):
        out = run_chain(chain, example_of(refund, "broken_lamp"))
    assert out.status == "failed"
    gate = verdicts_of(out.state)[0]
    [failed] = [c for c in gate.failed if c.check == "budget"]
    assert failed.detail == "budget:tokens exhausted: 250 spent of 200"
    assert "budget:tokens exhausted: 250 spent of 200" in out.state["reason"]


def example_of(chain: Chain, name: str) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(chain.examples[name].read_text())
    return data


# --- values no run can store are refused where they enter ----------------------------------------


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_an_agent_output_no_run_can_store_is_a_failed_check() -> None:
    def huge(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
        result = _read(inp, ctx)
        assert result.output is not None
        # A JSON number the model wrote: valid for pydantic, not for a checkpoint.
        return AgentResult(result.output.model_copy(update={"account": 10**30}), result.decision)

    chain = meter_chain()
    chain = replace(chain, stages=(replace(chain.stages[0], agent=huge), chain.stages[1]))
    out = run_chain(chain, ASK)
    first = verdicts_of(out.state)[0]
    [failed] = first.failed
    assert failed.check == "agent"
    assert "no run can store (account: integer out of 64-bit range)" in failed.detail
    assert out.status == "waiting"


@pytest.mark.parametrize("amount", [float("inf"), float("nan"), "Infinity"])
def test_an_input_no_run_can_store_is_refused_in_one_line(amount: Any) -> None:
    with pytest.raises(InputError) as err:
        run_chain(meter_chain(), {"account": "A-1", "amount": amount})
    assert str(err.value).startswith("the input is not a valid Ask: amount: ")
    assert "\n" not in str(err.value)


def test_a_human_edit_no_run_can_store_is_refused(procurement: Chain) -> None:
    def never(out: Contract, ictx: InvariantContext) -> str | None:
        return "always a human"

    inv = Invariant("never", never, (), on_fail="escalate")
    edges = tuple(
        replace(e, invariants=(inv,)) if e.id == "intake->inventory" else e
        for e in procurement.edges
    )
    chain = replace(procurement, edges=edges)
    pending = run_chain(chain, example("small_order"))
    assert pending.pending is not None
    edited = {**pending.pending.proposed, "quantity": 10**30}
    answers = [Recorder("edit", edited=edited)]

    def decide(req: EscalationRequest) -> Decision:
        return answers.pop(0)(req) if answers else Recorder("reject")(req)

    with pytest.raises(InputError, match="decision cannot be stored: quantity: integer out of"):
        run_chain(chain, example("small_order"), decide=decide)

"""An action is never taken twice on the same work: a stage committed again after a refresh
(work sent back to the stage that read a fact) reuses its action keys, and an action whose
``args`` raise names itself in the run's failure reason.

The workflow: ``check`` reads a balance (a fact) and acknowledges the request (``auto``);
``grant`` books the leave (``approve``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from console.timeline import describe_event
from graph.agent import AgentContext, AgentResult
from graph.chain import Action, Chain, Edge, Stage
from graph.runtime.runner import run_chain
from state.contracts import Carried, Contract, Fact
from state.decisions import ActionRecord, Decision, DecisionRecord, EscalationRequest
from state.nodes import END
from state.run_events import ActionRecorded
from state.run_state import actions_of
from state.sources import Source
from tests.unit.conftest import Recorder


class Balance:
    name = "hr"

    def __init__(self, ttl_s: float | None = None) -> None:
        self.version = 1
        self.ttl_s = ttl_s
        self.calls: dict[str, list[str]] = {"acknowledge": [], "book_leave": []}

    def read(self, key: str) -> Fact:
        return Fact(value=20, source=self.name, key=key, version=self.version, ttl_s=self.ttl_s)


class Request(Contract):
    employee: str
    days: int


class Checked(Contract):
    employee: Annotated[str, Carried()]
    days: Annotated[int, Carried()]
    balance: Fact


class Granted(Checked):
    balance: Annotated[Fact, Carried()]
    granted: bool


def check(inp: Contract, ctx: AgentContext) -> AgentResult[Checked]:
    assert isinstance(inp, Request)
    out = Checked(employee=inp.employee, days=inp.days, balance=ctx.sources["hr"].read("bal"))
    return AgentResult(out, DecisionRecord(chosen="ok", rationale="enough days"))


def grant(inp: Contract, ctx: AgentContext) -> AgentResult[Granted]:
    assert isinstance(inp, Checked)
    out = Granted(**dict(inp), granted=True)
    return AgentResult(out, DecisionRecord(chosen="grant", rationale="checked"))


def _call(name: str) -> Any:
    def run(out: Contract, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
        hr = sources["hr"]
        assert isinstance(hr, Balance)
        hr.calls[name].append(key)
        return {"done": key}

    return run


def leave_chain(hr: Balance, args: Any = None) -> Chain:
    book_args = args or (lambda out: {"employee": out.employee})
    acknowledge = Action[Checked](
        "acknowledge", "auto", _call("acknowledge"), lambda out: {"employee": out.employee}
    )
    book = Action[Granted]("book_leave", "approve", _call("book_leave"), book_args)
    return Chain(
        name="leave",
        description="test",
        entry="check",
        stages=(
            Stage("check", check, Request, Checked, owner="hr", actions=(acknowledge,)),
            Stage("grant", grant, Checked, Granted, owner="hr", actions=(book,)),
        ),
        edges=(Edge("check", "grant"), Edge("grant", END)),
        sources=lambda: {"hr": hr},
    )


ASK = {"employee": "ann", "days": 3}


def _keys(state: Any, action: str) -> list[str]:
    return [a.idempotency_key for a in actions_of(state) if a.action == action]


def test_an_always_stale_fact_does_not_repeat_an_upstream_auto_action() -> None:
    hr = Balance(ttl_s=0.0001)
    out = run_chain(leave_chain(hr), ASK, run_id="R", decide=Recorder("approve", user="boss"))
    assert hr.calls["acknowledge"] == ["R:check:acknowledge"]
    assert set(_keys(out.state, "acknowledge")) == {"R:check:acknowledge"}


def test_a_fact_moving_during_an_approval_does_not_repeat_an_upstream_action() -> None:
    hr = Balance()

    def decide(req: EscalationRequest) -> Decision:
        if "book_leave" in req.what and hr.version == 1:
            hr.version = 2  # the balance moves while the approval waits
        return Decision.model_validate({"action": "approve", "user": "boss"})

    out = run_chain(leave_chain(hr), ASK, run_id="R", decide=decide)
    assert out.status == "succeeded"
    assert hr.calls == {
        "acknowledge": ["R:check:acknowledge"],
        "book_leave": ["R:grant:book_leave"],
    }
    assert set(_keys(out.state, "acknowledge")) == {"R:check:acknowledge"}
    done = [a for a in out.state["actions"] if a["action"] == "acknowledge"]
    assert [a["done_before"] for a in done] == [False, True]  # the second says it was not called
    shown = describe_event(ActionRecorded(record=ActionRecord.model_validate(done[1])))
    assert "executed (done before under its key: not called again)" in shown[0]


def test_args_that_raise_name_the_action_and_its_stage() -> None:
    hr = Balance()
    chain = leave_chain(hr, args=lambda out: {"x": out.nonexistent})
    out = run_chain(chain, ASK, run_id="R", decide=Recorder("approve", user="boss"))
    assert out.status == "failed"
    reason = str(out.state.get("reason", ""))
    assert reason.startswith("action 'book_leave' of stage 'grant': its args raised AttributeError")
    assert hr.calls["book_leave"] == []


class Count(Contract):
    n: int


def tick(inp: Contract, ctx: AgentContext) -> AgentResult[Count]:
    assert isinstance(inp, Count)
    return AgentResult(Count(n=inp.n + 1), DecisionRecord(chosen="tick", rationale="+1"))


def tock(inp: Contract, ctx: AgentContext) -> AgentResult[Count]:
    assert isinstance(inp, Count)
    return AgentResult(Count(n=inp.n * 10), DecisionRecord(chosen="tock", rationale="x10"))


def test_each_pass_of_a_declared_loop_acts_under_its_own_key() -> None:
    hr = Balance()
    ping = Action[Count]("acknowledge", "auto", _call("acknowledge"), lambda out: {"n": out.n})
    chain = Chain(
        name="loop",
        description="test",
        entry="tick",
        stages=(
            Stage("tick", tick, Count, Count, owner="ops", actions=(ping,)),
            Stage("tock", tock, Count, Count, owner="ops", route=lambda out: _back(out)),
        ),
        edges=(Edge("tick", "tock"), Edge("tock", "tick", max_traversals=2), Edge("tock", END)),
        sources=lambda: {"hr": hr},
    )
    out = run_chain(chain, {"n": 0}, run_id="L", decide=Recorder("approve"))
    assert out.status == "succeeded"
    assert hr.calls["acknowledge"] == ["L:tick:acknowledge", "L:tick:acknowledge:2"]


def _back(out: Count) -> str:
    return "tick" if out.n < 100 else END

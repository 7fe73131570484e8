"""Side effects exactly once, honest about the unknown.

A call whose outcome was lost (the worker died, the call raised) goes to a human, never a blind
second call, unless the action is retry-safe: then it is called again with the same key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agents.refund.chain import build_chain as build_refund
from agents.refund.domain import Payments
from graph.chain import Chain, Fault
from state.nodes import act_node
from state.run_state import actions_of
from tests.unit.conftest import Recorder, example, example_of
from tests.unit.door.helpers import portal_of, run_with_sources


def test_a_worker_death_after_the_order_asks_a_human_and_never_orders_twice(
    procurement: Chain,
) -> None:
    decide = Recorder("approve", user="buyer-lead")  # checked the portal: the order is there
    out, sources = run_with_sources(
        procurement, example("small_order"), "crash_after_order", decide=decide
    )
    assert out.status == "succeeded"
    assert len(portal_of(sources).orders) == 1
    [req] = decide.asked
    assert req.what.startswith("Outcome unknown: action 'place_order'")
    assert (req.allowed, req.labels["approve"]) == (["approve", "retry", "reject"], "confirm done")
    [action] = actions_of(out.state)
    assert (action.status, action.result["confirmed_by"]) == ("executed", "buyer-lead")


def test_an_approved_order_whose_call_crashed_is_asked_about_once_not_approved_again(
    procurement: Chain,
) -> None:
    decide = Recorder("approve", user="buyer-lead")
    out, sources = run_with_sources(
        procurement, example("large_order"), "crash_after_order", decide=decide
    )
    assert out.status == "succeeded"
    assert len(portal_of(sources).orders) == 1
    approval, unknown = decide.asked  # the tier's question once, then what the crash left
    assert not approval.what.startswith("Outcome unknown")
    assert unknown.what.startswith("Outcome unknown: action 'place_order'")


def test_an_aborted_unknown_outcome_ends_the_run_without_a_second_call(procurement: Chain) -> None:
    out, sources = run_with_sources(
        procurement, example("small_order"), "crash_after_order", decide=Recorder("reject")
    )
    assert out.status == "rejected"
    assert len(portal_of(sources).orders) == 1  # the one call that happened, never a blind second
    assert [a.status for a in actions_of(out.state)] == ["aborted"]


def test_a_retry_safe_action_is_called_again_with_the_same_key() -> None:
    chain = build_refund()
    crash = Fault(
        name="crash_after_payout",
        stage="payout",
        mode="unknown_outcome",
        description="the worker dies after the payment call",
        expect=act_node("payout"),
        expect_mast="FM-3.2",
        when="after_call",
    )
    chain = replace(chain, faults=(crash,))
    request = example_of(chain, "broken_lamp")
    decide = Recorder("approve")
    out, sources = run_with_sources(chain, request, "crash_after_payout", decide=decide)
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert out.status == "succeeded"
    assert payments.calls == 2  # called again after the crash, with the same key...
    assert len(payments.paid) == 1  # ...so the payments system paid once
    assert decide.asked == []  # retry_safe: no human needed


def test_an_action_that_raises_is_an_unknown_outcome_for_a_human(procurement: Chain) -> None:
    calls: list[str] = []
    place = procurement.stage("place_order").actions[0]

    def flaky(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        if len(calls) == 1:
            raise TimeoutError("portal did not answer in 30 s")
        return place.run(out, key, sources)

    stages = tuple(
        replace(s, actions=(replace(place, run=flaky),)) if s.name == "place_order" else s
        for s in procurement.stages
    )
    decide = Recorder("retry", user="buyer-lead")
    out, sources = run_with_sources(
        replace(procurement, stages=stages), example("small_order"), decide=decide
    )
    assert out.status == "succeeded"
    [req] = decide.asked
    assert "the call raised TimeoutError: portal did not answer in 30 s" in req.why
    assert calls == ["r1:place_order:place_order"] * 2  # the retry a human asked for, same key
    assert len(portal_of(sources).orders) == 1
    assert [a.status for a in actions_of(out.state)] == ["unknown", "executed"]


def test_a_retry_safe_action_that_raises_is_called_again_then_handed_to_a_human() -> None:
    chain = build_refund()
    pay = chain.stage("payout").actions[0]
    calls: list[str] = []

    def flaky(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        if len(calls) < 3:
            raise ConnectionError("payments API reset the connection")
        return pay.run(out, key, sources)

    stages = tuple(
        replace(s, actions=(replace(pay, run=flaky),)) if s.name == "payout" else s
        for s in chain.stages
    )
    decide = Recorder("approve")
    out, sources = run_with_sources(
        replace(chain, stages=stages), example_of(chain, "broken_lamp"), decide=decide
    )
    assert out.status == "succeeded"
    assert len(calls) == 3
    assert len(set(calls)) == 1  # always the same key
    assert decide.asked == []
    payments = sources["payments"]
    assert isinstance(payments, Payments)
    assert len(payments.paid) == 1

    def broken(out: Any, key: str, sources: Any) -> dict[str, Any]:
        calls.append(key)
        raise ConnectionError("payments API is down")

    calls.clear()
    stages = tuple(
        replace(s, actions=(replace(pay, run=broken),)) if s.name == "payout" else s
        for s in chain.stages
    )
    asked = Recorder("reject", user="finance-lead")
    out, _ = run_with_sources(
        replace(chain, stages=stages), example_of(chain, "broken_lamp"), decide=asked
    )
    assert len(calls) == 3  # then a human decides: here, abort
    [req] = asked.asked
    assert req.what.startswith("Outcome unknown")
    assert out.status == "rejected"

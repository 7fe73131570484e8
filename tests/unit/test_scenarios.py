"""The scenario suite: its judgement of runs, the whole suite, and ``waybill scenarios``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import pytest

from agents.refund.chain import build_chain as build_refund
from console.cli.commands import scenarios as command
from graph.chain import Chain, Fault, FaultContext, Invariant, InvariantContext
from graph.runtime.registry import Registry, UnknownWorkflowError
from graph.runtime.scenarios import (
    Scenario,
    ScenarioResult,
    plan,
    run_scenario,
    run_suite,
    summarise,
)
from state.contracts import Contract
from state.nodes import gate_node


@pytest.fixture(autouse=True)
def _rules_brains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_MODEL", raising=False)


@pytest.fixture(scope="module")
def suite() -> list[ScenarioResult]:
    return run_suite(Registry())


def _untouched(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    return payload


def _explode(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
    raise RuntimeError("injector broke")


def _with_faults(chain: Chain, *faults: Fault) -> Chain:
    return replace(chain, faults=faults)


NOOP = Fault("noop", "extract", "silent_error", "changes nothing", gate_node("extract", "policy"),
             "FM-2.2", _untouched)  # fmt: skip


# --- the whole suite -----------------------------------------------------------------------


def test_every_fault_is_caught_where_it_is_introduced(suite: list[ScenarioResult]) -> None:
    faulted = [r for r in suite if r.fault]
    assert len(faulted) >= 12
    missed = [(r.workflow, r.scenario, r.problem) for r in faulted if not r.ok]
    assert missed == []
    for r in faulted:
        assert r.caught_at is not None
        assert r.caught_at.split(" #")[0] == r.expected_gate
        assert r.expected_mast in r.mast


def test_clean_runs_raise_no_false_alarm(suite: list[ScenarioResult]) -> None:
    clean = [r for r in suite if not r.fault]
    assert {r.workflow for r in clean} >= {"procurement", "refund", "research"}
    assert [(r.scenario, r.problem) for r in clean if not r.ok] == []
    assert all(r.verdict is None and r.status == "succeeded" for r in clean)
    policy = {r.scenario: r.policy for r in clean if r.policy}
    # Escalations required by the autonomy policy are expected, and shown as such.
    assert policy["clean: desk_return"] == ("issue_refund: approve (amount_over_limit)",)
    assert policy["clean: unsure_keyboard"] == ("issue_refund: notify (low_confidence)",)


def test_suite_covers_every_failure_mode_and_eight_mast_codes(suite: list[ScenarioResult]) -> None:
    s = summarise(suite)
    assert s.ok
    modes = ("handoff_loop", "lossy_summary", "silent_error", "stale_state", "unknown_outcome")
    assert s.modes == modes
    assert len(s.codes) >= 8


# --- judging single scenarios --------------------------------------------------------------


def test_plan_runs_every_example_clean_and_faults_on_the_first() -> None:
    chain = build_refund()
    scenarios = plan(chain)
    assert [s.name for s in scenarios[:4]] == [f"clean: {n}" for n in chain.examples]
    assert {s.example for s in scenarios if s.fault} == {next(iter(chain.examples))}


def test_a_fault_no_gate_notices_is_missed() -> None:
    chain = _with_faults(build_refund(), NOOP)
    result = run_scenario(chain, Scenario("refund", "broken_lamp", NOOP))
    assert (result.ok, result.result, result.caught_at) == (False, "MISSED", None)
    assert result.problem == "no gate caught it"
    assert not summarise([result]).ok


def test_a_fault_caught_at_another_gate_is_missed() -> None:
    chain = build_refund()
    late = replace(chain.fault("deny_but_pay"), expect=gate_node("policy", "decide"))
    result = run_scenario(chain, Scenario("refund", "broken_lamp", late))
    assert not result.ok
    assert result.problem == "first caught at gate decide->payout, expected gate policy->decide"


def test_a_fault_caught_without_its_code_is_missed() -> None:
    chain = build_refund()
    wrong = replace(chain.fault("deny_but_pay"), expect_mast="FM-3.3")
    result = run_scenario(chain, Scenario("refund", "broken_lamp", wrong))
    assert (result.ok, result.mast) == (False, ("FM-2.6",))
    assert "without FM-3.3" in result.problem


def test_a_run_that_raises_is_a_failed_scenario() -> None:
    broken = replace(NOOP, name="explode", apply=_explode)
    result = run_scenario(
        _with_faults(build_refund(), broken), Scenario("refund", "broken_lamp", broken)
    )
    assert (result.ok, result.status) == (False, "error")
    assert "injector broke" in result.problem


def _always_fails(out: Contract, ictx: InvariantContext) -> str | None:
    return "flagged"


def test_a_gate_stopping_a_clean_run_is_a_false_alarm() -> None:
    chain = build_refund()
    jumpy = Invariant("jumpy", _always_fails, ("FM-3.3",), on_fail="escalate")
    edges = tuple(
        replace(e, invariants=(*e.invariants, jumpy)) if e.id == "policy->decide" else e
        for e in chain.edges
    )
    result = run_scenario(replace(chain, edges=edges), Scenario("refund", "broken_lamp"))
    assert (result.ok, result.result) == (False, "FALSE ALARM")
    assert (result.caught_at, result.verdict, result.status) == (
        "gate policy->decide #3",
        "escalate",
        "rejected",
    )


# --- the command ---------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="waybill")
    command.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["scenarios", *argv])


def _registry_with(name: str, variant: Any) -> Registry:
    registry = Registry()
    registry.discover()  # then replace the workflow by a smaller variant, to keep this fast
    registry.register(variant, name)
    return registry


def test_command_prints_progress_and_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def research() -> Chain:
        chain = Registry().fresh("research")
        faults = tuple(f for f in chain.faults if f.name in ("endless_digging", "early_finish"))
        return replace(
            chain, faults=faults, examples={"pilot_brief": chain.examples["pilot_brief"]}
        )

    monkeypatch.setattr(command, "default_registry", lambda: _registry_with("research", research))
    args = _parse("--workflow", "research")
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "[#######.............] 1/3 research/clean: pilot_brief: ok",
        "[#############.......] 2/3 research/endless_digging: ok",
        "[####################] 3/3 research/early_finish: ok",
    ]
    lines = out.splitlines()
    assert lines[0] == (
        "| workflow | scenario | mode | introduced at | caught at | verdict | MAST | result |"
    )
    assert lines[2] == "| research | clean: pilot_brief | - | - | - | pass | - | ok |"
    assert lines[3] == (
        "| research | endless_digging | handoff_loop | synthesise #3 | gate synthesise->gather #9 "
        "| escalate | FM-1.5 | ok |"
    )
    assert (
        "faults: 2 of 2 caught at their handoff, before any harm, with their MAST code; "
        "clean runs: 1, " in out
    )
    assert "false alarms: 0" in out


def test_command_exits_non_zero_on_a_missed_fault(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refund() -> Chain:
        chain = _with_faults(build_refund(), NOOP)
        return replace(chain, examples={"broken_lamp": chain.examples["broken_lamp"]})

    monkeypatch.setattr(command, "default_registry", lambda: _registry_with("refund", refund))
    args = _parse("--workflow", "refund")
    assert args.func(args) == command.EXIT_MISSED
    out, _ = capsys.readouterr()
    assert (
        "| refund | noop | silent_error | extract #2 | - | - | - | MISSED: no gate caught it; "
        "'issue_refund' ran on handoff #5, derived from the faulty handoff #2 |" in out
    )


def test_command_names_an_unknown_workflow() -> None:
    args = _parse("--workflow", "no_such_workflow")
    with pytest.raises(UnknownWorkflowError):
        args.func(args)

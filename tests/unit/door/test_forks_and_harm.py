"""Forks are gated like any handoff, and the scenario suite counts harm, not just detection."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.budget import limits
from graph.chain import Chain, Fault, FaultContext
from graph.context import RunContext
from graph.runtime.fork import ForkError, fork_thread, fork_update
from graph.runtime.runner import compile_chain, outcome_of, run_chain, run_config, stream_updates
from graph.runtime.scenarios import Scenario, run_scenario
from state.budgets import Budgets
from state.nodes import gate_node
from state.run_state import verdicts_of
from tests.unit.conftest import example
from tests.unit.door.helpers import portal_of


def _finished_in_memory(chain: Chain) -> tuple[Any, InMemorySaver]:
    saver = InMemorySaver()
    run_chain(chain, example("small_order"), run_id="src", checkpointer=saver)
    return compile_chain(chain, saver), saver


def _checkpoint_before(graph: Any, node: str) -> str:
    for snap in graph.get_state_history(run_config("src")):
        if snap.next == (node,):
            return str(snap.config["configurable"]["checkpoint_id"])
    raise AssertionError(f"no checkpoint before {node}")


def test_a_fork_edit_is_checked_by_the_gate_of_its_edge(procurement: Chain) -> None:
    graph, saver = _finished_in_memory(procurement)
    at = _checkpoint_before(graph, "place_order")
    sets = {
        "inbox.place_order.payload.order_quantity": 150,
        "inbox.place_order.payload.total": 4990,
    }
    fork_thread(
        graph, saver, "src", at, new_run_id="fork", chain=procurement, sets=sets, user="ana"
    )
    sources = procurement.sources()
    ctx = RunContext(run_id="fork", sources=sources)
    list(stream_updates(graph, None, run_config("fork"), ctx))
    out = outcome_of(graph, "fork", run_config("fork"))
    assert out.status == "waiting"  # the edit failed its gate: a human decides, nothing ran
    assert portal_of(sources).orders == {}
    verdict = verdicts_of(out.state)[-1]
    assert (verdict.gate, verdict.decision) == ("gate po_draft->place_order", "escalate")
    failed = {c.name for c in verdict.failed}
    assert {"total_matches_lines", "fidelity:order_quantity"} <= failed
    assert out.state["handoffs"][-1]["by"] == "human:ana (fork)"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"steps": 0}, "'steps' cannot be edited"),
        ({"inbox.sourcing.payload.quantity": 3}, "'sourcing' is not about to run"),
        ({"request.text": "x"}, "request.* can be edited only before the first stage runs"),
    ],
)
def test_a_fork_refuses_edits_that_would_skip_a_gate(
    procurement: Chain, sets: dict[str, Any], message: str
) -> None:
    graph, saver = _finished_in_memory(procurement)
    at = _checkpoint_before(graph, "place_order")
    with pytest.raises(ForkError, match=message):
        fork_thread(graph, saver, "src", at, new_run_id="f", chain=procurement, sets=sets, user="a")


def test_an_agent_that_places_an_order_itself_is_harm(procurement: Chain) -> None:
    """A fork's mistake: a side effect inside an agent, not declared as an action."""
    original = procurement.stage("po_draft").agent

    def eager(inp: Any, ctx: Any) -> Any:
        result = original(inp, ctx)
        portal: Any = ctx.sources["portal"]
        portal.place("eager", "PO-X", "Northwind Furnishings", "SKU-CHAIR-01", 15, 1275.0)
        return result

    stages = tuple(
        replace(s, agent=eager) if s.name == "po_draft" else s for s in procurement.stages
    )
    chain = replace(procurement, stages=stages)
    result = run_scenario(chain, Scenario("procurement", "small_order"))
    assert (result.ok, result.result) == (False, "HARM")
    assert any("done with no committed action: eager" in h for h in result.harm)


def test_the_scenario_suite_sees_an_action_taken_on_faulty_data(procurement: Chain) -> None:
    def quietly_wrong(payload: dict[str, Any], fctx: FaultContext) -> dict[str, Any]:
        return {**payload, "supplier": "Contoso Office", "unit_price": 92.5}  # catalogue-valid

    fault = Fault(
        name="other_supplier",
        stage="sourcing",
        mode="silent_error",
        description="sourcing picks the dearer supplier (no invariant forbids it)",
        apply=quietly_wrong,
        expect=gate_node("sourcing", "po_draft"),
        expect_mast="FM-2.6",
    )
    chain = replace(procurement, faults=(fault,))
    result = run_scenario(chain, Scenario("procurement", "small_order", fault))
    assert result.result == "MISSED"
    assert any("derived from the faulty handoff #3" in h for h in result.harm)


def test_a_fork_is_a_new_run_for_its_wall_time_budget(procurement: Chain) -> None:
    """Forked an hour after its source started, a run still has its whole wall time."""
    graph, _ = _finished_in_memory(procurement)
    snap = graph.get_state(run_config("src"))
    old: Any = {**snap.values, "started_at": time.time() - 3_600, "waited_s": 120.0}
    update, _ = fork_update(procurement, old, ("sourcing",), {}, new_run_id="f", user="a")
    forked: Any = {**old, "started_at": update["started_at"].value, "waited_s": 0.0}
    assert update["waited_s"].value == 0.0
    [wall] = [lim for lim in limits(procurement.budgets, forked) if lim.name == "budget:wall_time"]
    assert wall.ok, wall.spent
    [source_wall] = [lim for lim in limits(procurement.budgets, old) if "wall" in lim.name]
    assert not source_wall.ok  # 3,480 s of its own, waits left out, against 600 s


def test_time_waiting_for_people_is_left_out_of_the_wall_time() -> None:
    state: Any = {"started_at": time.time() - 1_000, "waited_s": 990.0, "steps": 0}
    [_, wall, *_] = limits(Budgets(max_wall_s=60), state)
    assert (wall.name, wall.ok) == ("budget:wall_time", True)
    assert float(wall.spent.rstrip("s").replace(",", "")) < 60


def test_a_fork_needs_a_checkpoint_something_runs_from(procurement: Chain) -> None:
    """An empty ``--at`` is not the newest checkpoint, and a run's last one starts nothing."""
    graph, saver = _finished_in_memory(procurement)
    [end, *_] = graph.get_state_history(run_config("src"))
    assert end.next == ()
    last = str(end.config["configurable"]["checkpoint_id"])
    for at, message in (("", "name the checkpoint"), (last, f"{last} is where run src ended")):
        with pytest.raises(ForkError, match=message):
            fork_thread(graph, saver, "src", at, new_run_id="f", chain=procurement, sets={},
                        user="a")  # fmt: skip

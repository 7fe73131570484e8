"""Values no run can store (integers beyond 64 bits, infinities, NaN) are refused where they enter:
an agent's output fails a check, a run's input or a human's edit is refused in one line.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from graph.agent import AgentContext, AgentResult
from graph.chain import Chain, Invariant, InvariantContext
from graph.runtime.runner import InputError, run_chain
from state.contracts import Contract
from state.decisions import Decision, EscalationRequest
from state.run_state import verdicts_of
from tests.unit.conftest import Recorder, example
from tests.unit.gaps.meters import ASK, Read, meter_chain, read_meters


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_an_agent_output_no_run_can_store_is_a_failed_check() -> None:
    def huge(inp: Contract, ctx: AgentContext) -> AgentResult[Read]:
        result = read_meters(inp, ctx)
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

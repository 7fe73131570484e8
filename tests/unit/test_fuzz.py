"""Fuzzing every workflow's input and a human's edits: each ends as a clean refusal (one line),
a finished run, or a run waiting for a human — never a traceback."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from graph.chain import Chain, Invariant, InvariantContext
from graph.runtime.registry import Registry
from graph.runtime.runner import InputError, run_chain
from state.contracts import Contract
from state.decisions import Decision, EscalationRequest
from tests.strategies import edits, example_of, inputs
from tests.unit.conftest import Recorder

ENDINGS = {"succeeded", "failed", "rejected", "waiting"}
WORKFLOWS = ("procurement", "refund", "research")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
    derandomize=True,
)


def _chain(name: str) -> Chain:
    return Registry().fresh(name)


def _ends_cleanly(chain: Chain, request: Any, decide: Any) -> str:
    try:
        out = run_chain(chain, request, decide=decide)
    except InputError as exc:
        message = str(exc)
        assert message
        assert "\n" not in message
        assert "Traceback" not in message
        return "refused"
    assert out.status in ENDINGS, (out.status, out.state.get("reason"))
    return str(out.status)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_any_input_ends_as_a_refusal_or_a_run_outcome(name: str) -> None:
    chain = _chain(name)
    seen: set[str] = set()

    @FUZZ
    @given(request=inputs(chain))
    def check(request: Any) -> None:
        seen.add(_ends_cleanly(chain, request, Recorder("reject")))

    check()
    assert "refused" in seen  # the strategies do reach both ends
    assert seen & ENDINGS


def _a_human_looks_first(chain: Chain) -> Chain:
    """``chain`` with its first handoff always escalated, so a human edits it."""

    def look(out: Contract, ictx: InvariantContext) -> str | None:
        return "a human looks at every first handoff"

    inv = Invariant("human_first", look, (), on_fail="escalate")
    edges = tuple(
        replace(e, invariants=(*e.invariants, inv)) if e.source == chain.entry else e
        for e in chain.edges
    )
    return replace(chain, edges=edges)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_any_human_edit_ends_as_a_refusal_or_a_run_outcome(name: str) -> None:
    chain = _a_human_looks_first(_chain(name))
    request = example_of(chain)
    first = run_chain(chain, request, decide=None)
    assert first.pending is not None
    proposed: dict[str, Any] = dict(first.pending.proposed)

    @FUZZ
    @given(edited=edits(proposed))
    def check(edited: Any) -> None:
        answers = [edited]

        def decide(req: EscalationRequest) -> Decision:
            if answers and "edit" in req.allowed:
                payload = answers.pop()
                if isinstance(payload, dict):
                    return Decision(action="edit", user="fuzz", edited=payload)
            return Recorder("reject", user="fuzz")(req)

        _ends_cleanly(chain, request, decide)

    check()

"""Telemetry from typed events, offline: what a node's events count and which span attributes
they give; and that with metrics off and no OTLP endpoint nothing observes at all."""

from __future__ import annotations

import pytest
import redis

from graph.telemetry import tracing
from graph.telemetry.counting import MetricsRecorder, counts_of
from graph.telemetry.observer import NullObserver, default_observer
from graph.telemetry.spans import action_span, failed, model_call, node_attributes
from state.control.plane import ControlPlane
from state.decisions import ActionRecord, DecisionRecord
from state.nodes import act_node, gate_node, stage_node
from state.run_events import ActionRecorded, AgentDecided, NodeUpdate, VerdictGiven
from state.verdicts import CheckResult, GateVerdict


def _gate(decision: str = "revise") -> NodeUpdate:
    check = CheckResult(
        check="domain", name="quantity_in_request", ok=False, mast=["FM-1.1"], detail="no"
    )
    verdict = GateVerdict.model_validate(
        {
            "node": gate_node("intake", "inventory"),
            "source": "intake",
            "target": "inventory",
            "handoff_seq": 1,
            "decision": decision,
            "checks": [check],
            "mast": ["FM-1.1"],
            "reasons": ["[domain] no"],
            "score": 0.5,
        }
    )
    return NodeUpdate(node=gate_node("intake", "inventory"), events=[VerdictGiven(verdict=verdict)])


def test_a_gates_events_count_its_decision_and_mast_codes() -> None:
    assert counts_of("procurement", _gate()) == [
        ("waybill_gate_verdicts", {"workflow": "procurement", "decision": "revise"}, 1),
        (
            "waybill_gate_mast",
            {"workflow": "procurement", "code": "FM-1.1", "decision": "revise"},
            1,
        ),
    ]
    attrs = node_attributes(_gate())
    assert attrs["waybill.gate.mast"] == ["FM-1.1"]
    assert attrs["waybill.gate.failed_checks"] == ["quantity_in_request"]
    assert attrs["waybill.edge"] == "intake->inventory"
    assert failed(_gate()) is None
    assert failed(_gate("block")) == "[domain] no"


def test_actions_and_model_calls_have_their_own_spans() -> None:
    record = ActionRecord(
        stage="place_order",
        action="place_order",
        tier="approve",
        status="executed",
        idempotency_key="r:place_order:place_order",
        decided_by="ana",
    )
    update = NodeUpdate(node=act_node("place_order"), events=[ActionRecorded(record=record)])
    assert counts_of("p", update) == [
        ("waybill_actions", {"workflow": "p", "action": "place_order", "status": "executed"}, 1)
    ]
    name, attrs = action_span(record)
    assert (name, attrs["waybill.action.decided_by"]) == ("action place_order", "ana")
    llm = DecisionRecord(
        stage="intake", chosen="x", rationale="y", model="gpt-4o-mini", input_tokens=9
    )
    call = model_call(llm)
    assert call is not None
    assert call[0] == "chat gpt-4o-mini"
    assert call[1]["gen_ai.usage.input_tokens"] == 9
    assert model_call(DecisionRecord(chosen="rules", rationale="no model")) is None
    stage = NodeUpdate(node=stage_node("intake"), events=[AgentDecided(record=llm)])
    assert node_attributes(stage)["waybill.agent.chosen"] == "x"


def test_off_by_default_nothing_observes_and_no_tracer_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.setenv("WAYBILL_METRICS", "false")
    built: list[str] = []
    monkeypatch.setattr(tracing, "make_setup", lambda processor: built.append("tracer"))
    cp = ControlPlane(redis.Redis(port=1, decode_responses=True))  # never connected
    assert isinstance(default_observer(cp), NullObserver)
    monkeypatch.setenv("WAYBILL_METRICS", "true")
    assert isinstance(default_observer(cp), MetricsRecorder)
    assert built == []

"""Pure logic behind the console pages: node colours, contract forms, markdown escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.procurement.contracts import OrderSpec, SupplierChoice
from console.ui.forms import FieldSpec, parse_value, schema_fields
from console.ui.progress import node_status
from console.ui.views import age, md_escape
from state.control.models import Escalation, RunRecord
from state.decisions import Decision
from state.nodes import gate_node, review_node, stage_node
from state.run_events import HandoffProposed, HumanDecided, NodeUpdate, VerdictGiven
from state.status import RunStatus
from state.verdicts import GateDecision, GateVerdict

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _run(status: RunStatus, stage: str | None = None) -> RunRecord:
    return RunRecord(
        run_id="r1",
        workflow="procurement",
        status=status,
        stage=stage,
        created_at=NOW,
        updated_at=NOW,
    )


def _gate(source: str, target: str, decision: GateDecision) -> NodeUpdate:
    node = gate_node(source, target)
    verdict = GateVerdict(
        node=node,
        source=source,
        target=target,
        handoff_seq=1,
        decision=decision,
        checks=[],
        mast=[],
        reasons=[],
        score=1.0,
    )
    return NodeUpdate(node=node, events=[VerdictGiven(verdict=verdict)])


def _stage(name: str, target: str) -> NodeUpdate:
    handoff = HandoffProposed(
        seq=1, stage=name, target=target, contract="C", payload={}, attempt=1, by="agent"
    )
    return NodeUpdate(node=stage_node(name), events=[handoff])


def test_succeeded_run_is_green_end_to_end() -> None:
    updates = [_stage("intake", "inventory"), _gate("intake", "inventory", "pass")]
    status = node_status(updates, _run("succeeded"))
    assert status == {
        "__start__": "passed",
        "intake": "passed",
        "gate intake->inventory": "passed",
        "__end__": "passed",
    }


def test_revise_and_running_next_stage() -> None:
    updates = [_stage("intake", "inventory"), _gate("intake", "inventory", "revise")]
    status = node_status(updates, _run("running"))
    assert status["gate intake->inventory"] == "revised"
    assert status["intake"] == "running"  # sent back to its producer
    updates.append(_stage("intake", "inventory"))
    assert node_status(updates, _run("running"))["gate intake->inventory"] == "running"


def test_waiting_marks_the_review_or_the_act_node() -> None:
    updates = [_stage("sourcing", "po_draft"), _gate("sourcing", "po_draft", "escalate")]
    esc = Escalation(
        escalation_id="e",
        run_id="r1",
        kind="gate",
        request={"stage": "sourcing", "target": "po_draft"},
        created_at=NOW,
    )
    status = node_status(updates, _run("waiting"), esc)
    assert status["review sourcing->po_draft"] == "waiting"
    assert status["gate sourcing->po_draft"] == "waiting"
    action = esc.model_copy(update={"kind": "action", "request": {"stage": "place_order"}})
    assert node_status([], _run("waiting"), action)["act place_order"] == "waiting"


def test_a_human_decision_settles_the_escalated_gate() -> None:
    human = HumanDecided(
        node=review_node("sourcing", "po_draft"),
        handoff_seq=1,
        decision=Decision(action="approve", user="ann"),
    )
    updates = [
        _gate("sourcing", "po_draft", "escalate"),
        NodeUpdate(node=review_node("sourcing", "po_draft"), events=[human]),
    ]
    status = node_status(updates, _run("running"))
    assert status["gate sourcing->po_draft"] == "passed"
    assert status["review sourcing->po_draft"] == "passed"


def test_killed_and_blocked_runs_end_red() -> None:
    status = node_status([_stage("slow", "finish")], _run("killed", stage="finish"))
    assert (status["__end__"], status["finish"], status["slow"]) == ("failed", "failed", "passed")
    assert node_status([_gate("a", "b", "block")], _run("failed"))["gate a->b"] == "failed"


def test_schema_fields_of_a_contract() -> None:
    fields = {f.name: f for f in schema_fields(OrderSpec)}
    assert (fields["quantity"].kind, fields["quantity"].required) == ("integer", True)
    assert fields["need_by"].kind == "text"  # an optional date is typed as text
    assert not fields["need_by"].required
    assert {f.name: f.kind for f in schema_fields(SupplierChoice)}["stock"] == "json"


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("integer", "42", (42, None)),
        ("integer", "4.2", (None, "not an integer")),
        ("number", "1e3", (1000.0, None)),
        ("json", '{"a": 1}', ({"a": 1}, None)),
        ("json", "{a", (None, "not valid JSON")),
        ("text", "  hi ", ("hi", None)),
    ],
)
def test_parse_value(kind: str, raw: str, expected: tuple[Any, str | None]) -> None:
    assert parse_value(FieldSpec("f", kind, True), raw) == expected


def test_empty_optional_field_is_left_out_and_required_one_flagged() -> None:
    assert parse_value(FieldSpec("f", "text", False), "") == (..., None)
    assert parse_value(FieldSpec("f", "integer", True), " ") == (None, "required")


def test_md_escape_neutralises_links_images_and_html() -> None:
    hostile = "[x](http://evil) ![i](http://evil/i.png) <b>*bold*</b> `code`"
    escaped = md_escape(hostile)
    for token in ("[", "]", "(", ")", "!", "<", ">", "*", "`"):
        assert escaped.count(token) == escaped.count("\\" + token)


def test_age() -> None:
    assert age(NOW - timedelta(seconds=5), NOW) == "5s"
    assert age(NOW - timedelta(minutes=3), NOW) == "3m"
    assert age(NOW - timedelta(days=2, hours=1), NOW) == "2d"

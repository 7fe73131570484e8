"""Agent Inbox's schema on escalations: a review's payload reads as a ``HumanInterrupt``, an
Agent Inbox ``HumanResponse`` resumes it, and nothing but accept approves."""

from __future__ import annotations

from typing import Any

import pytest

from state.decisions import EscalationRequest, resume_decision


def _request(**fields: Any) -> EscalationRequest:
    return EscalationRequest.model_validate(
        {
            "kind": "gate",
            "run_id": "r1",
            "stage": "intake",
            "target": "inventory",
            "what": "gate intake->inventory escalated handoff #1",
            "why": ["quantity 10 is not in the request"],
            "proposed": {"sku": "A", "quantity": 10},
            **fields,
        }
    )


def test_an_escalation_payload_is_a_human_interrupt_and_reads_back() -> None:
    payload = _request(allowed=["edit", "reject"]).model_dump(mode="json")
    assert payload["action_request"] == {
        "action": "gate: intake -> inventory",
        "args": {"sku": "A", "quantity": 10},
    }
    assert payload["config"] == {
        "allow_ignore": False,
        "allow_respond": False,
        "allow_edit": True,
        "allow_accept": False,
    }
    assert payload["description"].splitlines() == [
        "gate intake->inventory escalated handoff #1",
        "",
        "- quantity 10 is not in the request",
    ]
    assert EscalationRequest.model_validate(payload) == _request(allowed=["edit", "reject"])


@pytest.mark.parametrize(
    ("response", "action", "edited", "comment"),
    [
        ([{"type": "accept", "args": None}], "approve", None, ""),
        (
            {"type": "edit", "args": {"action": "x", "args": {"quantity": 1}}},
            "edit",
            {"quantity": 1},
            "",
        ),
        ({"type": "ignore", "args": None}, "reject", None, "ignore in Agent Inbox"),
        ({"type": "response", "args": "looks odd"}, "reject", None, "looks odd"),
    ],
)
def test_agent_inbox_responses_resume_a_review(
    response: Any, action: str, edited: dict[str, Any] | None, comment: str
) -> None:
    decision = resume_decision(response)
    assert (decision.action, decision.edited, decision.comment) == (action, edited, comment)
    assert decision.user == "agent-inbox"


def test_a_waybill_decision_still_resumes_and_a_bad_one_fails() -> None:
    assert resume_decision({"action": "approve", "user": "ana"}).user == "ana"
    with pytest.raises(ValueError, match="type"):
        resume_decision({"type": "approve_everything"})

"""Agent output and what people typed are shown as text on a terminal, never interpreted: the
timeline's lines hold no control character, whatever an agent, a payload or a person said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.timeline import approval_note, describe_escalation, describe_event
from console.visible import visible
from state.control.models import Escalation
from state.decisions import ActionRecord, Decision, DecisionRecord, EscalationRequest
from state.nodes import gate_node, review_node
from state.run_events import (
    ActionRecorded,
    AgentDecided,
    HandoffProposed,
    HumanDecided,
    RunStopped,
    TimelineEvent,
    VerdictGiven,
)
from state.verdicts import CheckResult, GateVerdict

RED = "\x1b[31mRED"
FORGED = "x\nglobal:*  by root at 2099-01-01 00:00: FAKE"
HOSTILE = f"{RED} {FORGED}\r\x07\x9b2J\x7f\u2028\u202e"
"""ESC (a colour), a newline (a forged line), CR, BEL, a one-byte CSI, DEL, a line separator and
a right-to-left override."""


def _controls(text: str) -> list[str]:
    """The characters of ``text`` a terminal may act on instead of showing (the lines here are
    ASCII but for what ``HOSTILE`` puts in them)."""
    return [c for c in text if not c.isprintable()]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (RED, "\\x1b[31mRED"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x00\x07\x08\x7f", "\\x00\\x07\\x08\\x7f"),
        ("\x85\x9b", "\\x85\\x9b"),  # C1: a next line, a one-byte CSI
        ("\u2028\u2029\u202e\u2066", "\\u2028\\u2029\\u202e\\u2066"),
    ],
)
def test_control_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_printable_text_is_unchanged() -> None:
    text = "Grüße, 日本語, emoji 👩\u200d💻, a back\\slash, 'quotes' and \"more\" - 42 €"
    assert visible(text) == text
    assert visible(3.5) == "3.5"  # any value is shown as its text
    assert visible({"k": "v"}) == "{'k': 'v'}"


def _events() -> list[TimelineEvent]:
    verdict = GateVerdict(
        node=gate_node("po_draft", "place_order"), source="po_draft", target="place_order",
        handoff_seq=4, decision="escalate", mast=[], reasons=[HOSTILE], score=0.5,
        checks=[CheckResult(check="domain", name=HOSTILE, ok=False, detail=HOSTILE)],
    )  # fmt: skip
    decided = DecisionRecord(chosen=HOSTILE, alternatives=[HOSTILE], rationale=HOSTILE)
    action = ActionRecord(
        stage="place_order", action=HOSTILE, tier="approve", raised_by=HOSTILE,
        status="executed", idempotency_key="k", result={"note": HOSTILE},
    )  # fmt: skip
    return [
        HandoffProposed(
            seq=1,
            stage="intake",
            target="inventory",
            contract="OrderSpec",
            attempt=1,
            by=HOSTILE,
            payload={"request_id": RED, HOSTILE: {"deep": [HOSTILE]}},
        ),
        AgentDecided(record=decided),
        ActionRecorded(record=action),
        VerdictGiven(verdict=verdict),
        HumanDecided(
            node=review_node("po_draft", "place_order"),
            handoff_seq=4,
            decision=Decision(action="reject", user="lee", comment=HOSTILE),
        ),
        RunStopped(status="rejected", reason=HOSTILE),
    ]


@pytest.mark.parametrize("event", _events(), ids=lambda e: e.kind)
def test_every_timeline_line_shows_agent_and_human_text_as_text(event: TimelineEvent) -> None:
    lines = describe_event(event)
    assert lines
    for line in lines:
        assert _controls(line) == [], line
    assert "\\x1b[31mRED" in "".join(lines)
    if not isinstance(event, HandoffProposed | ActionRecorded):
        assert "\\nglobal:*  by root" in "".join(lines)  # the forged line stays on this one


def test_a_handoffs_payload_keeps_its_values_readable() -> None:
    [_, line] = describe_event(_events()[0])
    assert line.lstrip().startswith("request_id=\\x1b[31mRED, ")


def test_an_escalation_shows_what_why_and_the_proposal_as_text() -> None:
    req = EscalationRequest(
        kind="gate", run_id="r1", stage="po_draft", what=HOSTILE, why=[HOSTILE, FORGED],
        proposed={"po_number": RED}, envelope_rule=HOSTILE, labels={"approve": HOSTILE},
        group="finance", four_eyes=True, authors=[HOSTILE],
    )  # fmt: skip
    lines = describe_escalation(req)
    for line in lines:
        assert _controls(line) == [], line
    assert lines[0] == f"ESCALATION (gate): {visible(HOSTILE)}"
    assert f"  why: {visible(FORGED)}" in lines
    assert "  proposed: po_number=\\x1b[31mRED" in lines


def test_an_approval_note_shows_names_as_text() -> None:
    now = datetime.now(UTC)
    esc = Escalation(
        escalation_id="e1", run_id="r1", kind="gate", request={}, created_at=now,
        approvals_needed=2, group=RED,
    )  # fmt: skip
    note = approval_note(esc, "lee")
    assert _controls(note) == []
    assert note.endswith("waiting for 2 more from \\x1b[31mRED")

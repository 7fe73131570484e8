"""What the command line prints from agents, payloads, inputs and people is shown as text: a
newline cannot forge a line (a kill switch in ``waybill kills``, a row of ``waybill runs``) and
ESC cannot drive the terminal. The options people type such text into refuse control characters
(``tests/unit/cli/test_bad_arguments.py``).

Commands that read Redis run here on a stub backend: only what they print is under test.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from console.cli.commands.runs import _print_runs
from console.cli.deciding import _ask
from console.cli.errors import CliError
from console.cli.follow import event_lines
from console.cli.main import main
from state.control.models import (
    Decision,
    Escalation,
    KillSwitch,
    RunEvent,
    RunRecord,
    SwitchKind,
)
from state.control.tokens import TokenInfo
from state.decisions import EscalationRequest
from state.nodes import stage_node
from state.run_events import HandoffProposed, NodeUpdate
from tests.unit.cli.helpers import SMALL, input_file, one_line_error, run

RED = "\x1b[31mRED"
FORGED = "x\nglobal:*  by root at 2099-01-01 00:00: FAKE"
FORGED_SHOWN = "x\\nglobal:*  by root at 2099-01-01 00:00: FAKE"
NOW = datetime.now(UTC)


def _plain(out: str) -> None:
    """Nothing in ``out`` but printable text and line ends."""
    assert [c for c in out if not c.isprintable() and c != "\n"] == [], out


def _backend(monkeypatch: pytest.MonkeyPatch, module: str, **cp: Any) -> None:
    """``open_backend`` of ``console.cli.commands.<module>`` yields a backend whose control
    plane has the stores ``cp`` names."""

    @contextlib.contextmanager
    def open_backend() -> Iterator[SimpleNamespace]:
        yield SimpleNamespace(cp=SimpleNamespace(**cp))

    monkeypatch.setattr(f"console.cli.commands.{module}.open_backend", open_backend)


def test_a_run_prints_an_inputs_control_characters_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = json.loads(Path(SMALL).read_text())
    request["request_id"] = f"{RED}\nFORGED"
    path = input_file(tmp_path, json.dumps(request).encode())
    code, out, _ = run(capsys, "run", "procurement", "--input", path)
    assert code == 0
    _plain(out)
    assert "request_id=\\x1b[31mRED\\nFORGED, requester=" in out
    assert not any(line.startswith("FORGED") for line in out.splitlines())


@pytest.mark.parametrize(("command", "kind"), [("kills", "kill"), ("holds", "hold")])
def test_a_switch_reason_cannot_forge_a_switch_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    kind: SwitchKind,
) -> None:
    switch = KillSwitch(
        kind=kind, scope="workflow", target="research", reason=FORGED + RED, user="ana",
        tripped_at=NOW,
    )  # fmt: skip
    kills = SimpleNamespace(list=lambda kind="kill": [switch] if kind == switch.kind else [])
    _backend(monkeypatch, kind, kills=kills)  # the modules are named after their switches
    code, out, _ = run(capsys, command)
    assert code == 0
    _plain(out)
    [line] = out.splitlines()
    assert line.startswith("workflow:research  by ana at ")
    assert line.endswith(f": {FORGED_SHOWN}\\x1b[31mRED")


def test_a_reason_cannot_break_the_run_table(capsys: pytest.CaptureFixture[str]) -> None:
    runs = [
        RunRecord(
            run_id=f"r{n}", workflow="procurement", status="rejected", stage="po_draft",
            reason=reason, created_at=NOW, updated_at=NOW,
        )
        for n, reason in enumerate([FORGED, RED])
    ]  # fmt: skip
    _print_runs(runs, {})
    out = capsys.readouterr().out
    _plain(out)
    _, first, second = out.splitlines()
    assert first.endswith(f"  {FORGED_SHOWN}")
    assert second.endswith("  \\x1b[31mRED")


def test_show_prints_a_runs_events_and_escalations_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record = RunRecord(
        run_id="r1", workflow="procurement", status="killed", reason=FORGED, user="ana",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    handoff = HandoffProposed(
        seq=1, stage="intake", target="inventory", contract="OrderSpec", attempt=1,
        by="intake-parser", payload={"request_id": RED},
    )  # fmt: skip
    update = NodeUpdate(node=stage_node("intake"), events=[handoff])
    events = [
        RunEvent(id="1-0", kind="node", data=update.model_dump(mode="json"), ts=NOW),
        RunEvent(id="2-0", kind="status", data={"status": RED}, ts=NOW),
    ]
    escalations = [
        Escalation(escalation_id="e1", run_id="r1", kind="gate", request={"what": FORGED},
                   created_at=NOW),
        Escalation(escalation_id="e2", run_id="r1", kind="gate", created_at=NOW,
                   decision=Decision(action="reject", user="lee", comment=FORGED,
                                     decided_at=NOW)),
    ]  # fmt: skip
    _backend(
        monkeypatch,
        "runs",
        runs=SimpleNamespace(get=lambda run_id: record),
        events=SimpleNamespace(read=lambda run_id, count: events),
        escalations=SimpleNamespace(for_run=lambda run_id: escalations),
    )
    code, out, _ = run(capsys, "show", "r1")
    assert code == 0
    _plain(out)
    lines = out.splitlines()
    assert "       request_id=\\x1b[31mRED" in lines
    assert "  [\\x1b[31mRED]" in lines
    assert f"status: killed ({FORGED_SHOWN})" in lines
    assert f"unanswered (killed) escalation e1: {FORGED_SHOWN}" in lines  # asks no more
    assert len(lines) == 7  # header, handoff (2), status event, status, two escalations


def test_event_lines_show_a_status_as_text() -> None:
    event = RunEvent(id="1-0", kind="status", data={"to": FORGED}, ts=NOW)
    assert event_lines(event) == [f"  [{FORGED_SHOWN}]"]


def test_a_token_label_is_listed_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = TokenInfo(id="abc123", user="ana", label=FORGED + RED, created_at=NOW)
    _backend(
        monkeypatch,
        "user_access",
        client=SimpleNamespace(exists=lambda key: 1),
        tokens=SimpleNamespace(list=lambda name: [token]),
    )
    code, out, _ = run(capsys, "user", "tokens", "ana")
    assert code == 0
    _plain(out)
    [line] = out.splitlines()
    assert line.endswith(f"  {FORGED_SHOWN}\\x1b[31mRED")


def test_an_error_line_shows_control_characters_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(args: object) -> int:
        raise CliError(f"--set needs PATH=VALUE, got '{RED}'")

    monkeypatch.setattr("console.cli.commands.workflows.cmd_workflows", fails)
    assert main(["workflows"]) == 1
    err = capsys.readouterr().err
    assert one_line_error(err) == "waybill: --set needs PATH=VALUE, got '\\x1b[31mRED'"
    _plain(err)


def test_a_comment_typed_at_the_prompt_refuses_control_characters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["approve", f"ok {RED}", "approve", "fine"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    req = EscalationRequest(kind="gate", run_id="r1", stage="po_draft", what="?", why=[],
                            proposed={})  # fmt: skip
    decision = _ask(req, "lee")
    assert (decision.action, decision.comment) == ("approve", "fine")
    assert "a comment is one line without control characters" in capsys.readouterr().out

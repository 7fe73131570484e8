"""The command line: timelines, exit codes, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from tests.unit.conftest import EXAMPLES

SMALL = str(EXAMPLES / "small_order.json")
LARGE = str(EXAMPLES / "large_order.json")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``waybill ARGV``; runs use ``--local`` (in-process, no Redis: these are unit tests)."""
    args = list(argv)
    if args[:1] == ["run"]:
        args.append("--local")
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_workflows_lists_procurement(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "workflows")
    assert code == 0
    assert out.startswith("procurement: ")
    assert "faults: bad_extraction, stale_inventory, ping_pong, lossy_summary" in out


def test_small_order_prints_a_timeline_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", SMALL)
    assert code == 0
    assert "gate intake->inventory: PASS" in out
    assert "action place_order [auto]: executed" in out
    assert out.rstrip().endswith("succeeded (finished by 'place_order')")


def test_large_order_approved_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "run", "procurement", "--input", LARGE, "--decision", "approve", "--user", "kim"
    )
    assert code == 0
    assert "ESCALATION (action)" in out
    assert "envelope rule: amount_over_limit" in out
    assert "[approve, raised by amount_over_limit]: executed" in out


def test_large_order_rejected_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", LARGE, "--decision", "reject")
    assert code == 4
    assert "rejected (action 'place_order' rejected by cli)" in out


def test_large_order_without_a_decision_waits(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", LARGE)
    assert code == 6  # stdin is not a terminal under pytest
    assert "waiting for a decision" in out


def test_injected_fault_is_shown_with_its_mast_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", SMALL, "--inject", "lossy_summary")
    assert code == 0
    assert "gate po_draft->place_order: REVISE [FM-1.4]" in out
    assert "x fidelity:cost_center: carried field 'cost_center' changed" in out


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_malformed_json_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"request_id": "R-1",')
    code, _, err = run(capsys, "run", "procurement", "--input", str(bad))
    assert code == 1
    assert "is not valid JSON" in _one_line_error(err)


def test_input_that_breaks_the_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"request_id": "R-1", "requester": "a", "text": "x", "extra": 1}))
    code, _, err = run(capsys, "run", "procurement", "--input", str(bad))
    assert code == 1
    line = _one_line_error(err)
    assert "not a valid PurchaseRequest" in line
    assert "cost_center: Field required" in line
    assert "extra: Extra inputs are not permitted" in line


def test_missing_input_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", str(tmp_path / "nope.json"))
    assert code == 1
    assert "cannot read input file" in _one_line_error(err)


def test_unknown_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "shipping", "--input", SMALL)
    assert code == 1
    assert _one_line_error(err).startswith(
        "waybill: unknown workflow 'shipping' (known: procurement"
    )


def test_unknown_fault(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", SMALL, "--inject", "meteor")
    assert code == 1
    assert "unknown fault 'meteor' for procurement (known: bad_extraction" in _one_line_error(err)


def test_decision_not_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", LARGE, "--decision", "maybe")
    assert code == 1
    assert "decision 'maybe' is not allowed here (allowed: approve, edit, reject)" in (
        _one_line_error(err)
    )


def test_edit_is_not_allowed_for_an_action(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    edit = tmp_path / "edit.json"
    edit.write_text("{}")
    code, _, err = run(
        capsys, "run", "procurement", "--input", LARGE, "--decision", "edit", "--edit", str(edit)
    )
    assert code == 1
    assert "decision 'edit' is not allowed here (allowed: approve, reject)" in _one_line_error(err)


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "procurement"])
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert "the following arguments are required: --input" in _one_line_error(err)

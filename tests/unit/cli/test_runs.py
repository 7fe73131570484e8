"""``waybill workflows`` and ``waybill run``: timelines, decisions on the command line, exit codes.

Runs use ``--local`` (in-process, no Redis).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.cli.commands.runs import _print_runs
from state.control.models import RunRecord
from tests.unit.cli.helpers import LARGE, SMALL, one_line_error, run


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


def test_an_example_is_found_by_name_and_an_unknown_one_names_the_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--example", "small_order")
    assert code == 0
    assert "#1   intake -> inventory" in out
    code, _, err = run(capsys, "run", "procurement", "--example", "tiny")
    assert code == 1
    assert one_line_error(err) == (
        "waybill: procurement has no example 'tiny' (known: large_order, small_order)"
    )


def test_a_safe_run_id_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", SMALL, "--run-id", "Order_7-b")
    assert code == 0
    assert "run Order_7-b: succeeded" in out


def test_the_run_list_keeps_its_columns_with_long_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """A 64-character run id (the most an id may have) pushed every later column out of line."""
    now = datetime.now(UTC)
    runs = [
        RunRecord(
            run_id=run_id, workflow=flow, status=status, stage=stage, created_at=now, updated_at=now
        )
        for run_id, flow, status, stage in (
            ("a" * 64, "procurement", "succeeded", "place_order"),
            ("r1", "a_forks_long_workflow_name", "waiting", None),
        )
    ]
    _print_runs(runs, {})
    lines = capsys.readouterr().out.splitlines()
    starts = {word: lines[0].index(f" {word} ") + 1 for word in ("WORKFLOW", "STATUS", "AGE")}
    assert lines[1].index("procurement") == lines[2].index("a_forks_long") == starts["WORKFLOW"]
    assert lines[1].index("succeeded") == lines[2].index("waiting") == starts["STATUS"]
    assert lines[1].index("0s") == lines[2].index("0s") == starts["AGE"] + 1  # right-aligned

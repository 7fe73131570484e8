"""The command line: timelines, exit codes, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli.main import main
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
    code, _, err = run(capsys, "run", "no_such_workflow", "--input", SMALL)
    assert code == 1
    line = _one_line_error(err)
    assert line.startswith("waybill: unknown workflow 'no_such_workflow' (known: ")
    assert {"procurement", "refund", "research"} <= set(line.split("known: ")[1][:-1].split(", "))


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
    assert "one of the arguments --input --example is required" in _one_line_error(err)


def test_an_example_is_found_by_name_and_an_unknown_one_names_the_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--example", "small_order")
    assert code == 0
    assert "#1   intake -> inventory" in out
    code, _, err = run(capsys, "run", "procurement", "--example", "tiny")
    assert code == 1
    assert _one_line_error(err) == (
        "waybill: procurement has no example 'tiny' (known: large_order, small_order)"
    )


# --- bad input never gives a traceback (each case from the issue has its test) ---------------


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``waybill ARGV`` must stop at the parser: exit code 2 and one line."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    return _one_line_error(capsys.readouterr().err)


def _input_file(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    return str(path)


def test_input_nested_beyond_the_parser(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    deep = _input_file(tmp_path, b"[" * 100_000 + b"]" * 100_000)
    code, _, err = run(capsys, "run", "procurement", "--input", deep)
    assert code == 1
    assert _one_line_error(err).endswith("is nested too deeply (more than 64 levels)")


def test_input_nested_deeply_but_parsable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deep = _input_file(tmp_path, b'{"text": ' + b"[" * 500 + b"]" * 500 + b"}")
    code, _, err = run(capsys, "run", "procurement", "--input", deep)
    assert code == 1
    assert "is nested too deeply" in _one_line_error(err)


def test_input_with_an_integer_over_4300_digits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = _input_file(tmp_path, b'{"request_id": ' + b"9" * 5000 + b"}")
    code, _, err = run(capsys, "run", "procurement", "--input", big)
    assert code == 1
    assert _one_line_error(err).endswith("holds a number with more than 4300 digits")


def test_input_that_is_not_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    latin1 = _input_file(tmp_path, '{"text": "café"}'.encode("latin-1"))
    code, _, err = run(capsys, "run", "procurement", "--input", latin1)
    assert code == 1
    assert "is not UTF-8 text (byte 0xe9 at offset 13)" in _one_line_error(err)


def test_decision_edit_without_an_edit_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", LARGE, "--decision", "edit")
    assert code == 1
    assert _one_line_error(err) == (
        "waybill: --decision edit needs --edit FILE with the edited payload"
    )


@pytest.mark.parametrize("content", [None, b"{", b"\xff\xfe"])
def test_decide_with_a_missing_or_invalid_edit_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None
) -> None:
    """Checked before Redis is touched (unit tests point REDIS_URL at a closed port)."""
    edit = tmp_path / "edit.json"
    if content is not None:
        edit.write_bytes(content)
    code = main(["decide", "some-run", "--edit", str(edit), "--user", "ana"])
    assert code == 1
    line = _one_line_error(capsys.readouterr().err)
    expected = {
        None: "cannot read edit file",
        b"{": "is not valid JSON",
        b"\xff\xfe": "is not UTF-8 text",
    }[content]
    assert expected in line


@pytest.mark.parametrize("run_id", ["a{b", "a}b", "run:1", "", "a b", "x" * 65])
def test_run_id_outside_the_safe_alphabet(capsys: pytest.CaptureFixture[str], run_id: str) -> None:
    line = _usage_error(capsys, "run", "procurement", "--input", SMALL, "--run-id", run_id)
    assert "argument --run-id: invalid run id" in line
    assert "use 1 to 64 letters, digits, '_' or '-'" in line


def test_a_safe_run_id_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "procurement", "--input", SMALL, "--run-id", "Order_7-b")
    assert code == 0
    assert "run Order_7-b: succeeded" in out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--limit", "-1", "argument --limit: must be between 0 and 10000, got -1"),
        ("--offset", "-5", "argument --offset: must be between 0 and 1000000000000, got -5"),
        ("--limit", str(10**20), "argument --limit: must be between 0 and 10000, got 1000"),
        ("--limit", "ten", "argument --limit: 'ten' is not a whole number"),
    ],
)
def test_runs_paging_out_of_range(
    capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    assert message in _usage_error(capsys, "runs", option, value)


def test_kill_an_empty_run_id(capsys: pytest.CaptureFixture[str]) -> None:
    line = _usage_error(capsys, "kill", "--run", "", "--reason", "r", "--user", "ops")
    assert "argument --run: must not be empty" in line


@pytest.mark.parametrize("user", ["", "   "])
def test_decide_by_nobody(capsys: pytest.CaptureFixture[str], user: str) -> None:
    line = _usage_error(capsys, "decide", "some-run", "--approve", "--user", user)
    assert "argument --user: must not be empty" in line


def test_fork_set_with_an_unreadable_number(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fork", "r", "--at", "c", "--user", "ana", "--set", "x=" + "1" * 5000])
    assert code == 1
    assert "the value of --set x holds a number with more than 4300 digits" in _one_line_error(
        capsys.readouterr().err
    )


def test_a_bad_setting_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_LEASE_TTL_S", "abc")
    assert main(["runs"]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert line.startswith("waybill: invalid setting WAYBILL_LEASE_TTL_S: Input should be")
    assert line.endswith("(got 'abc')")


def test_a_name_with_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    line = _usage_error(capsys, "decide", "r", "--approve", "--user", "a\tb")
    assert "argument --user: 'a\\tb' holds control characters" in line


def test_an_unexpected_error_is_one_line_unless_debugging(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("something\nwe did not foresee")

    monkeypatch.setattr("console.cli.commands.workflows.cmd_workflows", broken)
    assert main(["workflows"]) == 1
    assert _one_line_error(capsys.readouterr().err) == (
        "waybill: unexpected error (RuntimeError: something we did not foresee); "
        "run again with WAYBILL_DEBUG=1 for the traceback"
    )
    monkeypatch.setenv("WAYBILL_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["workflows"])

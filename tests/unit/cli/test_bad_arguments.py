"""Bad arguments and settings: one line naming the problem, never a traceback.

What the parser refuses (unsafe run ids, paging out of range, empty names, control characters in
names, reasons, comments and labels)
exits 2; unknown workflows, faults and decisions not allowed here, bad settings and unexpected
errors exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import args as argtypes
from console.cli.main import main
from tests.unit.cli.helpers import LARGE, SMALL, one_line_error, run, usage_error


def test_unknown_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "no_such_workflow", "--input", SMALL)
    assert code == 1
    line = one_line_error(err)
    assert line.startswith("waybill: unknown workflow 'no_such_workflow' (known: ")
    assert {"procurement", "refund", "research"} <= set(line.split("known: ")[1][:-1].split(", "))


def test_unknown_fault(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", "procurement", "--input", SMALL, "--inject", "meteor")
    assert code == 1
    assert "unknown fault 'meteor' for procurement (known: bad_extraction" in one_line_error(err)
    assert out == ""  # not "running procurement with fault meteor" first


def test_decision_not_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", LARGE, "--decision", "maybe")
    assert code == 1
    assert "decision 'maybe' is not allowed here (allowed: approve, edit, reject)" in (
        one_line_error(err)
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
    assert "decision 'edit' is not allowed here (allowed: approve, reject)" in one_line_error(err)


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "procurement"])
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert "one of the arguments --input --example is required" in one_line_error(err)


def test_decision_edit_without_an_edit_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", LARGE, "--decision", "edit")
    assert code == 1
    assert one_line_error(err) == (
        "waybill: --decision edit needs --edit FILE with the edited payload"
    )


@pytest.mark.parametrize("run_id", ["a{b", "a}b", "run:1", "", "a b", "x" * 65])
def test_run_id_outside_the_safe_alphabet(capsys: pytest.CaptureFixture[str], run_id: str) -> None:
    line = usage_error(capsys, "run", "procurement", "--input", SMALL, "--run-id", run_id)
    assert "argument --run-id: invalid run id" in line
    assert "use 1 to 64 letters, digits, '_' or '-'" in line


@pytest.mark.parametrize("command", ["show", "history", "replay", "decide", "fork"])
def test_a_run_that_no_run_id_can_name(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """Refused as usage (before Redis), its id cut short: not "unknown run" echoing 100 KB."""
    line = usage_error(capsys, command, "x" * 100_000 + "!")
    assert "argument RUN: invalid run id 'xxxxxxxxxx" in line
    assert len(line) < 300


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
    assert message in usage_error(capsys, "runs", option, value)


def test_kill_an_empty_run_id(capsys: pytest.CaptureFixture[str]) -> None:
    line = usage_error(capsys, "kill", "--run", "", "--reason", "r", "--user", "ops")
    assert "argument --run: must not be empty" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--workers", "-1"], "argument --workers: must be between 0 and 64, got -1"),
        (["up", "--workers", "1000"], "argument --workers: must be between 0 and 64, got 1000"),
        (["up", "--port", "0"], "argument --port: must be between 1 and 65535, got 0"),
        (["up", "--port", "70000"], "argument --port: must be between 1 and 65535, got 70000"),
        (["console", "--port", "-5"], "argument --port: must be between 1 and 65535, got -5"),
    ],
)
def test_up_refuses_impossible_workers_and_ports(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """They started nothing useful before: -1 workers, port 0 silently the default, and a port
    past 65535 an 'unexpected error'."""
    assert message in usage_error(capsys, *argv)


@pytest.mark.parametrize("user", ["", "   "])
def test_decide_by_nobody(capsys: pytest.CaptureFixture[str], user: str) -> None:
    line = usage_error(capsys, "decide", "some-run", "--approve", "--user", user)
    assert "argument --user: must not be empty" in line


def test_a_bad_setting_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_LEASE_TTL_S", "abc")
    assert main(["runs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("waybill: invalid setting WAYBILL_LEASE_TTL_S: Input should be")
    assert line.endswith("(got 'abc')")


def test_a_name_with_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    line = usage_error(capsys, "decide", "r", "--approve", "--user", "a\tb")
    assert "argument --user: 'a\\tb' holds control characters" in line


FREE_TEXT = [
    ["kill", "--workflow", "research", "--reason"],
    ["hold", "--workflow", "research", "--reason"],
    ["decide", "r", "--approve", "--comment"],
    ["run", "procurement", "--input", SMALL, "--decision", "approve", "--comment"],
    ["user", "token", "ana", "--label"],
]
"""Options whose text is recorded and shown to others later (a reason, a comment, a label)."""


@pytest.mark.parametrize("argv", FREE_TEXT, ids=lambda argv: f"{argv[0]} {argv[-1]}")
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x\nglobal:*  by root at 2099-01-01 00:00: FAKE", "'x\\nglobal:*  by root at"),
        ("\x1b[31mRED", "'\\x1b[31mRED'"),
        ("a\tb\rc", "'a\\tb\\rc'"),
        ("ok\x9b2J", "'ok\\x9b2J'"),
    ],
)
def test_free_text_with_control_characters_is_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], value: str, shown: str
) -> None:
    """`waybill kill --reason $'x\\nglobal:* ...'` forged a switch line in `waybill kills`."""
    line = usage_error(capsys, *argv, value)
    assert f"argument {argv[-1]}: {shown}" in line
    assert "holds control characters" in line
    assert [c for c in line if not c.isprintable()] == []


def test_free_text_may_be_empty_unless_it_is_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert argtypes.text("  a comment, ünïcode 👍 ") == "a comment, ünïcode 👍"
    assert argtypes.text("") == ""
    assert "argument --reason: must not be empty" in usage_error(capsys, *FREE_TEXT[0], "  ")


def test_an_unexpected_error_is_one_line_unless_debugging(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("something\nwe did not foresee")

    monkeypatch.setattr("console.cli.commands.workflows.cmd_workflows", broken)
    assert main(["workflows"]) == 1
    assert one_line_error(capsys.readouterr().err) == (
        "waybill: unexpected error (RuntimeError: something we did not foresee); "
        "run again with WAYBILL_DEBUG=1 for the traceback"
    )
    monkeypatch.setenv("WAYBILL_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["workflows"])


def test_one_decision_at_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    line = usage_error(capsys, "decide", "r", "--approve", "--veto")
    assert "argument --veto: not allowed with argument --approve" in line


def test_revoke_needs_a_token_id_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    line = usage_error(capsys, "user", "revoke", "bob")
    assert "one of the arguments TOKEN_ID --all is required" in line


def test_join_needs_a_group(capsys: pytest.CaptureFixture[str]) -> None:
    line = usage_error(capsys, "user", "join", "bob")
    assert "the following arguments are required: GROUP" in line


def test_a_bad_webhook_setting_never_shows_its_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = '[{"url": "https://hooks.example/T0/secretpath", "secret": "topsecret"}]'
    monkeypatch.setenv("WAYBILL_WEBHOOKS", sink)
    assert main(["runs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert line == "waybill: invalid setting WAYBILL_WEBHOOKS at 0.name: Field required"
    monkeypatch.setenv("WAYBILL_WEBHOOKS", sink[:-1])  # not even JSON
    assert main(["runs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert line == (
        "waybill: invalid setting WAYBILL_WEBHOOKS: its value must be JSON (a list or an object)"
    )
    assert "topsecret" not in line


def test_an_unknown_or_missing_command_lists_the_real_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = usage_error(capsys, "nosuch")
    assert line.startswith(
        "waybill: argument command: invalid choice: 'nosuch' (choose from 'run',"
    )
    assert "'a2a')" in line
    assert line.endswith("(see `waybill --help`)")
    assert usage_error(capsys).endswith("required: command (see `waybill --help`)")

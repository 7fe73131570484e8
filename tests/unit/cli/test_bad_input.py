"""Bad input files and values never give a traceback: one line naming the problem, exit code 1.

One test per kind of bad input: a missing file, text that is not UTF-8 or not JSON, nesting
beyond the parser, an integer over 4300 digits, a payload that breaks its contract; for run
inputs, edit files and ``fork --set`` values alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli.main import main
from tests.unit.cli.helpers import SMALL, input_file, one_line_error, run


def test_malformed_json_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"request_id": "R-1",')
    code, _, err = run(capsys, "run", "procurement", "--input", str(bad))
    assert code == 1
    assert "is not valid JSON" in one_line_error(err)


def test_input_that_breaks_the_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"request_id": "R-1", "requester": "a", "text": "x", "extra": 1}))
    code, _, err = run(capsys, "run", "procurement", "--input", str(bad))
    assert code == 1
    line = one_line_error(err)
    assert "not a valid PurchaseRequest" in line
    assert "cost_center: Field required" in line
    assert "extra: Extra inputs are not permitted" in line


def test_missing_input_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "run", "procurement", "--input", str(tmp_path / "nope.json"))
    assert code == 1
    assert "cannot read input file" in one_line_error(err)


def test_input_nested_beyond_the_parser(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    deep = input_file(tmp_path, b"[" * 100_000 + b"]" * 100_000)
    code, _, err = run(capsys, "run", "procurement", "--input", deep)
    assert code == 1
    assert one_line_error(err).endswith("is nested too deeply (more than 64 levels)")


def test_input_nested_deeply_but_parsable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deep = input_file(tmp_path, b'{"text": ' + b"[" * 500 + b"]" * 500 + b"}")
    code, _, err = run(capsys, "run", "procurement", "--input", deep)
    assert code == 1
    assert "is nested too deeply" in one_line_error(err)


def test_input_with_an_integer_over_4300_digits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = input_file(tmp_path, b'{"request_id": ' + b"9" * 5000 + b"}")
    code, _, err = run(capsys, "run", "procurement", "--input", big)
    assert code == 1
    assert one_line_error(err).endswith("holds a number with more than 4300 digits")


def test_input_that_is_not_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    latin1 = input_file(tmp_path, '{"text": "café"}'.encode("latin-1"))
    code, _, err = run(capsys, "run", "procurement", "--input", latin1)
    assert code == 1
    assert "is not UTF-8 text (byte 0xe9 at offset 13)" in one_line_error(err)


@pytest.mark.parametrize("content", [None, b"{", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_decide_with_a_missing_or_invalid_edit_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None
) -> None:
    """Checked before Redis is touched (unit tests point REDIS_URL at a closed port)."""
    edit = tmp_path / "edit.json"
    if content is not None:
        edit.write_bytes(content)
    code = main(["decide", "some-run", "--edit", str(edit), "--user", "ana"])
    assert code == 1
    line = one_line_error(capsys.readouterr().err)
    expected = {
        None: "cannot read edit file",
        b"{": "is not valid JSON",
        b"\xff\xfe": "is not UTF-8 text",
        b"[1, 2]": "the edit file must be a JSON object (the edited payload), not an array",
        b'"text"': "the edit file must be a JSON object (the edited payload), not a string",
    }[content]
    assert expected in line


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--decision", "edit"], "the edit file must be a JSON object (the edited payload)"),
        ([], "--edit FILE goes with --decision edit"),
    ],
)
def test_run_with_an_edit_that_is_no_payload(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    """Refused before the run starts (it used to fail at the escalation, after the run began,
    as an "unexpected error"; without --decision edit, --edit was silently ignored)."""
    edit = input_file(tmp_path, b"[1, 2]")
    code, out, err = run(capsys, "run", "procurement", "--example", "small_order", *extra,
                         "--edit", edit)  # fmt: skip
    assert code == 1
    assert message in one_line_error(err)
    assert out == ""


def test_fork_set_with_an_unreadable_number(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fork", "r", "--at", "c", "--user", "ana", "--set", "x=" + "1" * 5000])
    assert code == 1
    assert "the value of --set x holds a number with more than 4300 digits" in one_line_error(
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("model", "said"),
    [
        ("bogus", "is not of the form provider:model"),
        ("nosuchprovider:x", "unknown provider 'nosuchprovider'"),
        ("openai:gpt-4o-mini", "cannot be used: Missing credentials"),  # no OPENAI_API_KEY
    ],
)
def test_a_model_that_cannot_be_built_is_refused_before_any_run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model: str,
    said: str,
) -> None:
    """A process that runs agents refuses ``WAYBILL_MODEL`` up front, in one line (every run
    escalated at its first gate instead: 'the agent raised ModelConfigError')."""
    monkeypatch.setenv("WAYBILL_MODEL", model)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("WAYBILL_DATA_DIR", str(tmp_path))
    code, out, err = run(capsys, "run", "procurement", "--input", SMALL)
    assert (code, out) == (1, "")  # nothing ran: not even "running" was said
    assert said in one_line_error(err)
    code, out, err = run(capsys, "worker", "--burst")
    assert (code, out) == (1, "")
    assert said in one_line_error(err)

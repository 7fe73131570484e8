"""What a person or caller hands a run is limited in size (``WAYBILL_MAX_INPUT_BYTES``): the
measure, the one-line refusal, the fork's check, and the command line's guard on files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from graph.chain import Chain
from graph.runtime.fork import ForkError, fork_update
from graph.runtime.principal import InputTooLarge, ServiceError
from graph.runtime.sizes import check_size, json_size, too_large
from state.run_state import RunState
from state.settings import Settings, get_settings
from tests.unit.cli.helpers import input_file, one_line_error, run

MIB = 1024 * 1024


def test_the_default_limit_is_one_mebibyte_and_the_variable_sets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WAYBILL_MAX_INPUT_BYTES", raising=False)
    assert get_settings().max_input_bytes == MIB
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "2048")
    assert get_settings().max_input_bytes == 2048
    with pytest.raises(ValidationError):
        Settings(max_input_bytes=0)


def test_the_size_is_that_of_compact_utf8_json() -> None:
    assert json_size({"a": [1, 2]}) == len('{"a":[1,2]}')
    assert json_size({"t": "é"}) == len('{"t":""}') + 2  # two bytes in UTF-8, not \\u00e9


def test_the_refusal_names_the_size_and_the_limit() -> None:
    line = too_large("the input", 20 * MIB, MIB)
    assert line == "the input is 20.0 MiB; the limit is 1.0 MiB (WAYBILL_MAX_INPUT_BYTES)"
    # Just over: both would read 1.0 MiB, so the bytes are shown.
    assert too_large("the input", MIB + 1, MIB) == (
        "the input is 1048577 bytes; the limit is 1048576 bytes (WAYBILL_MAX_INPUT_BYTES)"
    )
    assert too_large("the edit", 3 * 1024, 1000).startswith("the edit is 3.0 KiB; the limit is ")


def test_check_size_reads_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "100")
    check_size({"text": "x" * 80}, "the input")  # 91 bytes: accepted
    with pytest.raises(InputTooLarge) as refused:
        check_size({"text": "x" * 100}, "the input")
    assert str(refused.value) == (
        "the input is 111 bytes; the limit is 100 bytes (WAYBILL_MAX_INPUT_BYTES)"
    )
    assert isinstance(refused.value, ServiceError)  # every entry point shows its one line


def test_a_fork_with_oversized_values_is_refused_before_anything_else(
    procurement: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "1000")
    values: RunState = {"request": {"text": "order"}}  # type: ignore[typeddict-item]
    entry = (procurement.entry,)
    sets = {"request.text": "x" * 2000}
    with pytest.raises(InputTooLarge, match=r"^the fork's edit is 2\.0 KiB; the limit"):
        fork_update(procurement, values, entry, sets, new_run_id="f1", user="ana")
    # Under the limit the same edit goes on to the fork's own checks.
    with pytest.raises(ForkError, match="the edited request is not valid"):
        fork_update(procurement, values, entry, {"request.text": "x"}, new_run_id="f1", user="a")


def test_an_input_file_far_over_the_limit_is_refused_unread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "1024")
    big = input_file(tmp_path, b'{"text": "' + b"x" * 20_000 + b'"}')
    code, out, err = run(capsys, "run", "procurement", "--input", big)
    assert code == 1
    assert one_line_error(err) == (
        f"waybill: input file {big} is 19.5 KiB; the limit is 1.0 KiB (WAYBILL_MAX_INPUT_BYTES)"
    )
    assert out == ""


def test_a_device_that_never_ends_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to be read until memory ran out."""
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "1024")
    code, _, err = run(capsys, "run", "procurement", "--input", "/dev/zero")
    assert code == 1
    assert one_line_error(err).startswith("waybill: input file /dev/zero is over 4.0 KiB; ")


def test_run_with_an_oversized_edit_is_refused_before_the_run_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is within the read allowance (its indentation), its payload is not."""
    monkeypatch.setenv("WAYBILL_MAX_INPUT_BYTES", "1024")
    edit = input_file(tmp_path, json.dumps({"text": "x" * 2000}, indent=2).encode())
    code, out, err = run(capsys, "run", "procurement", "--example", "small_order",
                         "--decision", "edit", "--edit", edit)  # fmt: skip
    assert code == 1
    assert one_line_error(err).startswith(
        f"waybill: the edited payload in {edit} is 2.0 KiB; the limit is 1.0 KiB"
    )
    assert out == ""

"""``WAYBILL_DATA_DIR``: empty means unset, a missing one is created, a file is one clear line.

The embedded Valkey is never started here: ``redis_dir_of`` is what ``start_embedded`` calls
first, and the refusals come before any server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state.embedded_files import DataDirError, redis_dir_of
from state.settings import Settings
from tests.unit.cli.helpers import one_line_error, run


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_data_dir_is_the_default_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WAYBILL_DATA_DIR", value)
    monkeypatch.chdir(tmp_path)  # not the current directory, which Path("") would be
    assert Settings().data_dir == tmp_path / ".local" / "share" / "waybill"


def test_a_tilde_is_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Quoted in a shell (or in a service's environment file), '~' is not expanded for us:
    every part (the embedded Valkey, cli.log) must use the same expanded directory."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WAYBILL_DATA_DIR", "~/waybill-data")
    assert Settings().data_dir == tmp_path / "waybill-data"


def test_a_data_dir_that_does_not_exist_yet_is_created_with_its_parents(tmp_path: Path) -> None:
    redis_dir = redis_dir_of(tmp_path / "not" / "yet" / "there")
    assert redis_dir == tmp_path / "not" / "yet" / "there" / "redis"
    assert redis_dir.is_dir()
    assert redis_dir.stat().st_mode & 0o777 == 0o700


def test_a_data_dir_that_is_a_file_is_named_in_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory")
    with pytest.raises(DataDirError) as refused:
        redis_dir_of(a_file)
    assert str(refused.value) == f"WAYBILL_DATA_DIR {a_file} is not a directory"
    with pytest.raises(DataDirError) as refused:
        redis_dir_of(a_file / "sub")  # nor can a directory be made in it
    assert str(refused.value) == f"WAYBILL_DATA_DIR {a_file}/sub cannot be used: Not a directory"


def test_the_cli_says_so_with_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory")
    monkeypatch.delenv("REDIS_URL")  # the embedded Valkey's data directory, then
    monkeypatch.setenv("WAYBILL_DATA_DIR", str(a_file))
    code, out, err = run(capsys, "runs")
    assert (code, out) == (1, "")
    assert one_line_error(err) == f"waybill: WAYBILL_DATA_DIR {a_file} is not a directory"

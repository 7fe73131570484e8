"""What the CLI tests share: ``waybill`` run in-process, and its one-line errors."""

from __future__ import annotations

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


def one_line_error(err: str) -> str:
    """The one line of ``err``: an error is a single line, never a traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``waybill ARGV`` must stop at the parser: exit code 2 and one line."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    return one_line_error(capsys.readouterr().err)


def input_file(tmp_path: Path, content: bytes) -> str:
    """The path of an input file holding exactly ``content``."""
    path = tmp_path / "input.json"
    path.write_bytes(content)
    return str(path)

"""``waybill`` run in the test's own process against a real Redis: for the many short commands
a test makes whose whole point is their output and exit code (a process each costs a second
of interpreter start and imports; ``test_cli_redis.waybill`` runs one where the process itself
matters: signals, its environment, what it leaves behind)."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.cli.main import main


@dataclass(frozen=True)
class Ran:
    """What a command printed, and its exit code (as ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def waybill_here(
    capsys: pytest.CaptureFixture[str],
    url: str,
    data_dir: Path,
    *args: str,
    token: str = "",
    stdin: str | None = None,
) -> Ran:
    """``waybill ARGS`` in this process, on ``url``, acting with ``token`` (``WAYBILL_TOKEN``)
    and reading ``stdin`` (not a terminal) when given; no other ``WAYBILL_`` variable of the
    test's environment is seen."""
    capsys.readouterr()  # what came before is not this command's
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("WAYBILL_")]:
            env.delenv(name)
        env.setenv("REDIS_URL", url)
        env.setenv("WAYBILL_DATA_DIR", str(data_dir))
        if token:
            env.setenv("WAYBILL_TOKEN", token)
        if stdin is not None:
            env.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:  # a usage error
            code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Ran(code, out, err)

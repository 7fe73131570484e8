"""The README's "Add your own workflow" example passes the project's own linters as written: a
fork that copies it into ``agents/shipping/`` keeps ``make test`` (``ruff check``, ``ruff
format --check``) green. ``tests/integration/test_new_workflow.py`` type-checks and runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_new_workflow import _readme_example

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"
PYTHON_FILES = sorted(p for p in _readme_example() if p.endswith(".py"))


def _ruff(*args: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUFF), *args], input=code, cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("path", PYTHON_FILES)
def test_the_readme_example_passes_ruff_as_the_project_runs_it(path: str) -> None:
    code = _readme_example()[path]
    checked = _ruff("check", "--stdin-filename", path, "-", code=code)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = _ruff("format", "--check", "--stdin-filename", path, "-", code=code)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_both_files_of_the_example_are_checked() -> None:
    assert PYTHON_FILES == ["agents/shipping/agents.py", "agents/shipping/chain.py"]

"""The command table: every subcommand is registered by the module ``COMMANDS`` names, and a
command line loads only its own command's module."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from console.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[3]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_the_table_names_every_subcommand_and_its_module() -> None:
    everything = _subcommands(build_parser())
    assert set(everything) == set(COMMANDS)
    for name, module in COMMANDS.items():
        alone = _subcommands(build_parser([name, "--help"]))
        assert name in alone
        registered_by_one_module = set(alone) == {c for c, m in COMMANDS.items() if m == module}
        assert registered_by_one_module, (name, sorted(alone))


def test_a_command_loads_only_its_own_module() -> None:
    probe = (
        "import sys; from console.cli.main import build_parser; "
        "build_parser(['user', 'list']).parse_args(['user', 'list']); "
        "print(sorted(m for m in sys.modules if m.startswith(('a2a', 'mcp', 'uvicorn', "
        "'console.cli.commands.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['console.cli.commands.user', 'console.cli.commands.user_access']"

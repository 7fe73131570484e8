"""The command table: every subcommand is registered by the module ``COMMANDS`` names, and a
command line loads only its own command's module."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli.main import COMMANDS, build_parser, main

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


def _loaded(lines: list[list[str]], prefixes: tuple[str, ...]) -> list[str]:
    """The modules named ``prefixes*`` a fresh interpreter has loaded once it parsed ``lines``
    (and imported what every command uses: the backend and the timeline)."""
    probe = (
        "import sys; from console.cli.main import build_parser; "
        "import console.cli.backend, console.cli.follow; "
        f"[build_parser(a).parse_args(a) for a in {lines!r}]; "
        f"print(chr(10).join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _loaded([["user", "list"]], ("a2a", "mcp", "uvicorn", "console.cli.commands."))
    assert loaded == ["console.cli.commands.user", "console.cli.commands.user_access"]


def test_commands_that_read_do_not_load_langgraph() -> None:
    """Listing runs, showing one, listing switches or users opens the control plane only: no
    LangGraph runtime, executor or workflows (they doubled such a command's start: ~1.5 s, now
    ~0.8 s). The checkpointer's package, with LangGraph's checkpoint base classes, is light."""
    lines = [["runs"], ["show", "some-run"], ["kills"], ["holds"], ["user", "list"]]
    heavy: tuple[str, ...] = ("langgraph.graph", "langgraph.pregel", "graph.runtime.executor")
    heavy += ("graph.runtime.service", "agents.procurement", "agents.llm.brain")
    assert _loaded(lines, heavy) == []
    assert "langgraph.pregel" in _loaded([["worker"]], heavy)  # the probe sees it


def test_the_entry_point_does_not_load_the_control_plane() -> None:
    """``waybill`` itself (its parser and error handling) loads no store: a usage error or a
    command that needs no Redis starts in ~0.5 s (catching Redis's outage errors once loaded the
    control plane, and with it LangChain: ~0.9 s)."""
    heavy = ("state.control", "langchain")
    probe = (
        "import sys; import console.cli.main; "
        f"print(chr(10).join(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []


def test_output_to_a_reader_that_went_away_ends_quietly() -> None:
    """``waybill workflows | head -1``: the pipe closes before the command writes; the command
    ends as ``cat`` does (exit 141, nothing on stderr), not with an "unexpected error"."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "workflows"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the command has started
    _, err = proc.communicate(timeout=60)
    assert err == ""
    assert proc.returncode == 141


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"waybill \d+\.\d+\.\d+\n", capsys.readouterr().out)

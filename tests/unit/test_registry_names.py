"""Workflow names: two modules defining one name are reported, never silently one of them.

Also ``waybill workflows``' exit code (1 when a workflow is broken) and ``python -m
console.cli.main``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli.main import main
from graph.runtime.registry import BrokenWorkflowError, Registry
from tests.unit.test_second_workflow import build_support_chain

ROOT = Path(__file__).resolve().parents[2]

COPY = """
from tests.unit.test_second_workflow import build_support_chain


def build_chain():
    return build_support_chain()
"""

BAD_TIER = """
from dataclasses import replace

from graph import Action
from tests.unit.test_validate import chain

EFF = Action(name="eff", tier="sometimes", run=lambda out, key, src: {}, args=lambda out: {})


def build_chain():
    base = chain(name="tiers")
    return replace(base, stages=(replace(base.stages[0], actions=(EFF,)), base.stages[1]))
"""


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Workflow modules in a folder on the path: two copies of 'support', and one alias."""
    for name in ("copy_one", "copy_two"):
        (tmp_path / f"{name}.py").write_text(COPY)
    (tmp_path / "copy_alias.py").write_text("from copy_one import build_chain as build_chain\n")
    (tmp_path / "bad_tier.py").write_text(BAD_TIER)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _listing(monkeypatch: pytest.MonkeyPatch, *names: str) -> Registry:
    monkeypatch.setenv("WAYBILL_WORKFLOW_MODULES", json.dumps(list(names)))
    return Registry()


def test_one_name_from_two_modules_is_broken(
    modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _listing(monkeypatch, "copy_one", "copy_two")
    assert "support" not in registry.names()
    assert "procurement" in registry.names()
    error = registry.broken()["support"]
    assert "defined by more than one module (copy_one, copy_two)" in error
    with pytest.raises(BrokenWorkflowError, match="copy_one, copy_two") as info:
        registry.fresh("support")
    assert "\n" not in str(info.value)


def test_one_module_loaded_twice_is_no_clash(
    modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _listing(monkeypatch, "copy_one", "copy_one", "copy_alias")
    assert "support" in registry.names()
    assert registry.broken() == {}


def test_an_explicit_registration_still_wins(
    modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _listing(monkeypatch, "copy_one", "copy_two")
    registry.register(build_support_chain)
    assert registry.get("support").name == "support"
    assert registry.broken() == {}


def test_workflows_exits_1_when_one_is_broken(
    modules: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _listing(monkeypatch, "bad_tier")
    monkeypatch.setattr("console.cli.commands.workflows.default_registry", lambda: registry)
    assert main(["workflows"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("procurement: ")  # the healthy ones are still listed
    assert (
        "bad_tier: BROKEN - ChainError: chain 'tiers' is invalid: action 'eff' of stage 'one' "
        "has an unknown autonomy tier 'sometimes' (allowed: auto, notify, approve)"
    ) in out


def test_workflows_exits_0_when_none_is_broken(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _listing(monkeypatch)
    monkeypatch.setattr("console.cli.commands.workflows.default_registry", lambda: registry)
    assert main(["workflows"]) == 0
    assert "BROKEN" not in capsys.readouterr().out


def test_the_main_module_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "console.cli.main", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "workflows" in done.stdout

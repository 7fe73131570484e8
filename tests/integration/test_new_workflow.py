"""A fork adds a workflow: the README's "Add your own workflow" example, built from the README's
own code blocks in a package outside ``agents/``, type-checked, run, tested for its faults,
snapshotted by the README's command — and every unit test that reads the workflow registry still
passes with it registered."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.runtime import ROOT
from tests.redis_servers import ServerUnderTest
from tests.staff import token_for

SECTION = "## Add your own workflow"


def _readme_example() -> dict[str, str]:
    """The files of the README's example by their path (``agents/shipping/chain.py`` ...)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) : text.index("\n## ", text.index(SECTION) + 1)]
    files = {}
    for block in re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL):
        first = block.splitlines()[0]
        path = first.removeprefix("# ").split(":")[0]
        files[path] = block
    for path, body in re.findall(r"`(agents/shipping/examples/\w+\.json)` is `(\{.*?\})`", section):
        files[path] = body
    return files


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example written as the package ``shipping`` in a folder of its own."""
    base = tmp_path_factory.mktemp("fork")
    package = base / "shipping"
    (package / "examples").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A workflow added by a fork."""\n')
    for path, body in _readme_example().items():
        target = package / path.removeprefix("agents/shipping/")
        target.write_text(body.replace("agents.shipping", "shipping"))
    return base


def _env(fork: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_")}
    return env | {
        "PYTHONPATH": f"{ROOT}{os.pathsep}{fork}",
        "WAYBILL_WORKFLOW_MODULES": '["shipping.chain"]',
        "WAYBILL_DATA_DIR": str(fork / "data"),
        **extra,
    }


def _run(fork: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=_env(fork, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_readme_example_is_complete(fork: Path) -> None:
    files = sorted(p.relative_to(fork).as_posix() for p in fork.rglob("*") if p.is_file())
    assert files == [
        "shipping/__init__.py",
        "shipping/agents.py",
        "shipping/chain.py",
        "shipping/examples/letter.json",
        "shipping/examples/pallet.json",
    ]
    assert json.loads((fork / "shipping/examples/pallet.json").read_text())["weight_kg"] == 80
    source = (fork / "shipping/agents.py").read_text() + (fork / "shipping/chain.py").read_text()
    assert "isinstance" not in source
    assert "Any" not in source


def test_it_passes_mypy_strict(fork: Path) -> None:
    done = _run(fork, "-m", "mypy", "--strict", "--no-incremental", str(fork / "shipping"),
                MYPYPATH=str(ROOT))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_runs_and_its_fault_is_caught(fork: Path, server: ServerUnderTest) -> None:
    listed = _run(fork, "-m", "console.cli", "workflows")
    assert "shipping: Quote a parcel, then book it with a carrier." in listed.stdout
    local = _run(fork, "-m", "console.cli", "run", "shipping", "--example", "letter", "--local")
    assert local.returncode == 0, local.stderr
    assert "action book [auto]: executed" in local.stdout
    token = token_for(server.url, "ana", "admin")
    on_redis = _run(
        fork,
        *("-m", "console.cli", "run", "shipping", "--example", "pallet"),
        REDIS_URL=server.url,
        WAYBILL_TOKEN=token,
    )
    assert on_redis.returncode == 6, on_redis.stderr  # waiting: freight over 100.00
    assert "why: freight over 100.00 needs a human" in on_redis.stdout
    suite = _run(fork, "-m", "console.cli", "scenarios", "--workflow", "shipping")
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "| shipping | half_price | silent_error | quote #1 | gate quote->book #1 |" in (
        suite.stdout
    )


def _registry_readers() -> list[str]:
    """The unit test modules that load the workflow registry, so see the fork's workflow (the
    others cannot: they never read it)."""
    found = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests" / "unit").rglob("test_*.py")
        if "Registry()" in path.read_text()
    )
    assert "tests/unit/test_topology.py" in found, found
    assert len(found) >= 3, found
    return found


def test_the_readme_command_snapshots_it_and_the_registry_tests_still_pass(fork: Path) -> None:
    pytest_cmd = ("-m", "pytest", "-q", "-p", "no:cacheprovider")
    made = _run(fork, *pytest_cmd, "tests/unit/test_topology.py", WAYBILL_UPDATE_SNAPSHOTS="1")
    assert made.returncode == 0, made.stdout
    snapshot = fork / "shipping" / "topology.mmd"
    assert '"gate quote->book"' in snapshot.read_text()
    assert not (ROOT / "agents" / "shipping").exists()  # written beside the fork's module
    unit = _run(fork, *pytest_cmd, *_registry_readers())
    assert unit.returncode == 0, unit.stdout[-4000:]
    assert "[shipping]" not in unit.stdout  # nothing failed for it (quiet mode lists failures)
    assert re.search(r"\d+ passed", unit.stdout)

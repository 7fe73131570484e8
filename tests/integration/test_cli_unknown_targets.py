"""Every command given a run, workflow or stage that does not exist says so in one line naming it,
with exit code 1 (the README's "bad input or refused operation"), and changes nothing.

``unkill`` and ``release`` used to answer "was not set" with exit code 0 for a typo, which reads
as success while the real switch stays tripped. Clearing a switch that is not set on a target
that does exist stays a success (clearing is idempotent), and a switch that is set is cleared
even when its run was deleted since.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.control.models import SwitchKind
from state.control.plane import ControlPlane
from tests.integration.cli_here import waybill_here
from tests.integration.test_cli_redis import SMALL
from tests.redis_servers import ServerUnderTest
from tests.staff import token_for

SWITCH_COMMANDS = [("kill", True), ("unkill", False), ("hold", True), ("release", False)]
SCOPES = [("--run", "unknown run 'nosuch'"), ("--workflow", "unknown workflow 'nosuch'"),
          ("--agent", "no workflow has a stage 'nosuch'")]  # fmt: skip

CASES: dict[str, tuple[list[str], str]] = {
    "run": (["run", "nosuch", "--input", SMALL], "unknown workflow 'nosuch'"),
    "run --example": (["run", "nosuch", "--example", "small_order"], "unknown workflow 'nosuch'"),
    "show": (["show", "nosuch"], "unknown run 'nosuch'"),
    "history": (["history", "nosuch"], "unknown run 'nosuch'"),
    "replay": (["replay", "nosuch"], "unknown run 'nosuch'"),
    "fork": (["fork", "nosuch", "--at", "c1"], "unknown run 'nosuch'"),
    "decide": (["decide", "nosuch", "--approve"], "unknown run 'nosuch'"),
    "decide --edit": (["decide", "nosuch", "--edit", "EDIT"], "unknown run 'nosuch'"),
    "scenarios": (["scenarios", "--workflow", "nosuch"], "unknown workflow 'nosuch'"),
    "user tokens": (["user", "tokens", "nosuch"], "no user 'nosuch'"),
    "user revoke": (["user", "revoke", "nosuch", "t1"], "'nosuch' has no token 't1'"),
    "user revoke --all": (["user", "revoke", "nosuch", "--all"], "no user 'nosuch'"),
    **{
        f"{command} {option}": (
            [command, option, "nosuch", *(["--reason", "r"] if trips else [])],
            named,
        )
        for command, trips in SWITCH_COMMANDS
        for option, named in SCOPES
    },
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """One server for the module (the commands change nothing on it): URL, admin token, dir."""
    tmp = tmp_path_factory.mktemp("unknown-targets")
    server = ServerUnderTest("valkey", tmp / "srv")
    server.start()
    try:
        (tmp / "edit.json").write_text(json.dumps({"note": "x"}))
        yield server.url, token_for(server.url, "ana", "admin"), tmp
    finally:
        server.stop()


def _audited(url: str) -> int:
    cp = ControlPlane.from_url(url)
    try:
        return len(cp.audit.list(limit=1000))
    finally:
        cp.close()


@pytest.mark.parametrize("case", CASES)
def test_an_unknown_target_is_one_line_and_exit_code_1(
    shared: tuple[str, str, Path], case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, token, tmp = shared
    argv, named = CASES[case]
    argv = [str(tmp / "edit.json") if a == "EDIT" else a for a in argv]
    before = _audited(url)
    done = waybill_here(capsys, url, tmp, *argv, token=token)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"waybill: {named}"), line
    assert done.stdout == ""
    assert _audited(url) == before  # nothing tripped, cleared or started


def test_clearing_a_switch_that_is_not_set_on_a_known_target_succeeds(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = token_for(server.url, "ana", "admin")
    cp = ControlPlane.from_url(server.url)
    cp.runs.create("known-1", "procurement")
    for argv, said in [
        (["unkill", "--run", "known-1"], "kill switch run:known-1 was not set"),
        (["release", "--workflow", "refund"], "hold switch workflow:refund was not set; 0 held"),
        (["unkill", "--agent", "intake"], "kill switch agent:intake was not set"),
        (["release", "--global"], "hold switch global:* was not set; 0 held"),
    ]:
        done = waybill_here(capsys, server.url, tmp_path, *argv, token=token)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(said), done.stdout
    cp.close()


def test_a_switch_on_a_run_deleted_since_is_still_cleared(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill and a hold on a run that retention deleted meanwhile: both clear, exit code 0."""
    token = token_for(server.url, "ana", "admin")
    cp = ControlPlane.from_url(server.url)
    cp.runs.create("gone-1", "steps")
    kinds: tuple[SwitchKind, ...] = ("kill", "hold")
    for kind in kinds:
        cp.kills.trip("run", "gone-1", reason="r", user="ana", kind=kind)
    assert cp.retention.purge("gone-1", "steps", force=True) is not None
    unkilled = waybill_here(capsys, server.url, tmp_path, "unkill", "--run", "gone-1", token=token)
    assert (unkilled.returncode, unkilled.stdout.strip()) == (0, "kill switch run:gone-1 cleared")
    released = waybill_here(capsys, server.url, tmp_path, "release", "--run", "gone-1", token=token)
    assert released.returncode == 0, released.stderr
    assert released.stdout.startswith("hold switch run:gone-1 released; 0 held run(s)")
    assert cp.kills.list(kind=None) == []
    cp.close()

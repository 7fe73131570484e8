"""``WAYBILL_MAX_INPUT_BYTES`` through the real command line on a real Redis: an input, an edit
or a fork's values over the limit is refused in one line, exit code 1, and nothing is stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from state.control.plane import ControlPlane
from tests.integration.cli_here import Ran, waybill_here
from tests.integration.runtime import ROOT, worker_env
from tests.integration.test_cli_redis import SMALL, _run_id, ana
from tests.redis_servers import ServerUnderTest
from tests.staff import token_for

MIB = 1024 * 1024
NOTE = "(WAYBILL_MAX_INPUT_BYTES)"


def waybill(
    url: str, tmp: Path, *args: str, token: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``waybill ARGS`` in its own process as ``token``'s user, the approvals workflow loaded."""
    extra = {"WAYBILL_TOKEN": token, "WAYBILL_WORKFLOW_MODULES": '["tests.workflows.approvals"]'}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=worker_env(url, tmp, **extra, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refusal(done: subprocess.CompletedProcess[str] | Ran) -> str:
    """The one line of a refused command (exit code 1, nothing on standard output)."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    return line


def padded(base: dict[str, object], field: str, size: int, tmp: Path, name: str) -> Path:
    """A JSON file: ``base`` with ``size`` more bytes in its text ``field`` (a valid payload of
    its contract, only too large)."""
    path = tmp / name
    path.write_text(json.dumps({**base, field: str(base.get(field, "")) + "x" * size}))
    return path


def test_a_run_input_over_the_limit_is_refused_and_nothing_is_stored(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = ana(server.url)
    small = json.loads(Path(SMALL).read_text())
    huge = padded(small, "text", 20 * MIB, tmp_path, "huge.json")  # refused unread by the CLI
    over = padded(small, "text", 2 * MIB, tmp_path, "over.json")  # read; refused by the service
    line = refusal(waybill_here(capsys, server.url, tmp_path, "run", "procurement", "--input",
                                str(huge), token=token))  # fmt: skip
    assert line == f"waybill: input file {huge} is 20.0 MiB; the limit is 1.0 MiB {NOTE}"
    line = refusal(waybill_here(capsys, server.url, tmp_path, "run", "procurement", "--input",
                                str(over), token=token))  # fmt: skip
    assert line == f"waybill: the input is 2.0 MiB; the limit is 1.0 MiB {NOTE}"
    listed = waybill_here(capsys, server.url, tmp_path, "runs", token=token)
    assert listed.returncode == 0, listed.stderr
    assert "procurement" not in listed.stdout  # no run listed, not even a failed one
    cp = ControlPlane.from_url(server.url)
    try:
        assert cp.runs.list().total == 0
        assert cp.audit.list(action="run.start") == []
    finally:
        cp.close()


def test_an_edited_payload_over_the_limit_is_refused_and_nothing_is_decided(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """A payment marked for a check waits at its gate, where a member of payments may edit it."""
    (tmp_path / "pay.json").write_text(json.dumps({"payee": "p-1", "amount": 10, "note": "check"}))
    started = waybill(server.url, tmp_path, "run", "approvals", "--input",
                      str(tmp_path / "pay.json"), token=ana(server.url))  # fmt: skip
    assert started.returncode == 6, started.stdout + started.stderr
    run_id = _run_id(started.stdout)
    pia = token_for(server.url, "pia", "approver", ["payments"])
    edit: dict[str, object] = {"payee": "p-1", "amount": 10.0}  # a valid Payment, but large
    for name, size, expected in [
        ("over.json", 2 * MIB, "the edited payload is 2.0 MiB; the limit is 1.0 MiB"),
        ("huge.json", 20 * MIB, f"edit file {tmp_path / 'huge.json'} is 20.0 MiB; the limit"),
    ]:
        path = padded(edit, "note", size, tmp_path, name)
        line = refusal(waybill(server.url, tmp_path, "decide", run_id, "--edit", str(path),
                               token=pia))  # fmt: skip
        assert line.startswith(f"waybill: {expected}"), line
        assert line.endswith(NOTE)
    cp = ControlPlane.from_url(server.url)
    try:
        [esc] = cp.escalations.for_run(run_id)
        assert esc.pending
        assert cp.runs.get(run_id).status == "waiting"
        assert not [e for e in cp.audit.list() if e.action.startswith("escalation.")]
    finally:
        cp.close()


def test_a_fork_whose_values_are_over_the_limit_is_refused(
    server: ServerUnderTest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = ana(server.url)
    done = waybill(server.url, tmp_path, "run", "procurement", "--input", SMALL, token=token)
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    history = waybill_here(capsys, server.url, tmp_path, "history", run_id, token=token)
    lines = history.stdout.splitlines()
    at = next(line.split()[0] for line in lines if "next: intake " in line + " ")
    value = "request.text=" + "x" * 4000
    line = refusal(waybill(server.url, tmp_path, "fork", run_id, "--at", at, "--set", value,
                           token=token, WAYBILL_MAX_INPUT_BYTES="2048"))  # fmt: skip
    assert line == f"waybill: the fork's edit is 3.9 KiB; the limit is 2.0 KiB {NOTE}"
    cp = ControlPlane.from_url(server.url)
    try:
        assert [r.run_id for r in cp.runs.list().items] == [run_id]
        assert cp.audit.list(action="run.fork") == []
    finally:
        cp.close()

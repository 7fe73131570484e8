"""``waybill up`` when one of its processes is killed: the embedded Valkey is started again on
its port and its data, a worker is started again, and the rest carry on; something that keeps
dying stops everything in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from state.embedded_files import STATE_FILE
from state.embedded_probe import process_alive
from tests.integration.runtime import wait_for
from tests.integration.test_up import (
    _cli,
    _parent,
    _processes_with,
    _run_small_order,
    start_up,
)

pytestmark = pytest.mark.integration


def _up(tmp_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, str], Path]:
    up, env, log, _ = start_up(tmp_path, "waybill-up-data")
    return up, env, log


def _server_pid(env: dict[str, str]) -> int:
    state = Path(env["WAYBILL_DATA_DIR"]) / "redis" / STATE_FILE
    return int(json.loads(state.read_text())["pid"])


def _kill_server(env: dict[str, str], log: Path, times: int) -> int:
    """SIGKILL the embedded Valkey; wait until ``up`` said it is back ``times`` times."""
    dead = _server_pid(env)
    os.kill(dead, signal.SIGKILL)
    wait_for(
        lambda: log.read_text().count("the embedded Valkey is back") >= times,
        30,
        "up to start the embedded Valkey again",
        tick=0.2,
    )
    return dead


def _stop(up: subprocess.Popen[bytes], data_dir: str) -> None:
    if up.poll() is None:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
    time.sleep(0.5)
    assert _processes_with(data_dir) == []


def _workers(up: subprocess.Popen[bytes], data_dir: str) -> list[int]:
    """The workers ``up`` started (its children running ``waybill worker``)."""
    return [
        pid
        for pid in _processes_with(data_dir)
        if b"console.cli\0worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and _parent(pid) == up.pid
    ]


def test_a_killed_valkey_and_a_killed_worker_come_back_and_runs_go_on(tmp_path: Path) -> None:
    up, env, log = _up(tmp_path)
    data_dir = env["WAYBILL_DATA_DIR"]
    try:
        first = _run_small_order(env)
        assert first.returncode == 0, first.stdout + first.stderr
        time.sleep(1.2)  # appendfsync everysec: the run is on disk
        dead = _kill_server(env, log, 1)
        revived = _server_pid(env)
        assert revived != dead
        assert process_alive(revived)
        # The data is there, at the URL everybody was given; the worker executes new runs.
        listed = _cli(env, "runs")
        assert listed.returncode == 0, listed.stderr
        assert "succeeded" in listed.stdout
        second = _run_small_order(env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "executing on 1 worker(s)" in second.stdout
        # A worker killed as the out-of-memory killer would: another takes its name and place.
        [worker] = _workers(up, data_dir)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: _workers(up, data_dir) not in ([], [worker]), 30, "a new worker")
        third = _run_small_order(env)
        assert third.returncode == 0, third.stdout + third.stderr
        assert "executing on 1 worker(s)" in third.stdout  # the dead one is not counted
        assert _cli(env, "runs").stdout.count("succeeded") == 3
        assert up.poll() is None
        out = log.read_text()
        assert f"the embedded Valkey (pid {dead}) exited: restarting it" in out
        assert f"the embedded Valkey is back (pid {revived})" in out
        assert "waybill: worker 1 was killed (SIGKILL): starting it again" in out
        assert "Traceback" not in out
    finally:
        _stop(up, data_dir)
    assert up.returncode == 0


def test_an_embedded_valkey_that_keeps_dying_stops_up_in_one_line(tmp_path: Path) -> None:
    up, env, log = _up(tmp_path)
    try:
        for times in (1, 2, 3):
            _kill_server(env, log, times)
        os.kill(_server_pid(env), signal.SIGKILL)
        assert up.wait(timeout=30) == 1
    finally:
        _stop(up, env["WAYBILL_DATA_DIR"])
    out = log.read_text()
    assert "the embedded Valkey exited 4 times in a minute: stopping (see " in out
    assert "valkey.log)" in out
    assert "Traceback" not in out

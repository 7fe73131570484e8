"""The command line when Redis or a run's data goes wrong: one line, a non-zero exit, no hang."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from state.checkpoint.layout import ThreadKeys
from state.control.plane import ControlPlane
from tests.integration.cli_here import Ran
from tests.integration.runtime import ROOT, worker_env
from tests.integration.test_cli_redis import SMALL, _run_id, ana, waybill
from tests.redis_servers import ServerUnderTest, decoded


def one_line(done: subprocess.CompletedProcess[str] | Ran) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _latest_checkpoint(client: redis.Redis, run_id: str) -> tuple[str, str]:
    keys = ThreadKeys(run_id)
    [latest] = client.zrevrange(keys.index(""), 0, 0)
    return keys.records(""), decoded(latest)


Damage = Callable[[redis.Redis, str, str], object]
"""Spoils the checkpoint record ``(client, records key, checkpoint id)``."""

DAMAGE: dict[str, Damage] = {
    "garbage record": lambda c, key, ck: c.hset(key, ck, b"\x00not msgpack"),
    "record of the wrong shape": lambda c, key, ck: c.hset(key, ck, b"\x93\x01\x02\x03"),
    "key of the wrong type": lambda c, key, ck: (c.delete(key), c.set(key, "x")),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_history_and_replay_of_a_damaged_checkpoint(
    server: ServerUnderTest, tmp_path: Path, damage: str
) -> None:
    done = waybill(
        server.url, tmp_path, "run", "procurement", "--input", SMALL, token=ana(server.url)
    )
    run_id = _run_id(done.stdout)
    client = server.client()
    key, latest = _latest_checkpoint(client, run_id)
    DAMAGE[damage](client, key, latest)
    for command in ("history", "replay"):
        result = waybill(server.url, tmp_path, command, run_id)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        line = one_line(result)
        assert line.startswith(f"waybill: the checkpoints of run {run_id} cannot be read ("), line


def test_a_redis_error_while_a_command_runs(server: ServerUnderTest, tmp_path: Path) -> None:
    """The server answers, but refuses the command (an index key of the wrong type)."""
    client = server.client()
    client.set("wb:idx:runs", "not a sorted set")
    result = waybill(server.url, tmp_path, "runs")
    assert result.returncode == 1
    assert one_line(result) == (
        "waybill: Redis refused a command (WRONGTYPE Operation against a key holding the wrong "
        "kind of value)"
    )


def test_redis_lost_while_a_run_executes_in_the_cli(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """No worker: `waybill run` executes the run itself, and Redis stops in the middle."""
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"job_id": "lost-cli", "sleep_s": 3.0}))
    cp = ControlPlane.from_url(server.url)
    token = ana(server.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "run", "steps", "--input", str(job)],
        env=worker_env(server.url, tmp_path, WAYBILL_TOKEN=token),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(r.stage == "slow" for r in cp.runs.list(workflow="steps").items):
            assert time.monotonic() < deadline, "the run never reached its slow stage"
            time.sleep(0.05)
        cp.close()
        server.stop()
        stopped = time.monotonic()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - stopped < 30  # the clients' retries, then out: no hang
    assert proc.returncode == 1, out + err
    line = one_line(subprocess.CompletedProcess(proc.args, 1, out, err))
    assert line.startswith("waybill: lost the connection to Redis ("), line


def test_following_a_run_that_nothing_executes_stops(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """A queued run with no worker, no lease and no inline execution would be followed forever."""
    cp = ControlPlane.from_url(server.url)
    cp.runs.create("orphan-1", "procurement")
    result = waybill(server.url, tmp_path, "show", "orphan-1", "--follow")
    assert result.returncode == 1
    assert one_line(result) == (
        "waybill: run orphan-1 is queued but nothing executes it (no worker is listening): "
        "start `waybill worker` to resume it"
    )
    cp.close()


def test_following_a_run_stops_at_its_timeout_and_says_what_it_is_doing(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    from tests.integration.runtime import WorkerProcess

    job = tmp_path / "slow.json"
    job.write_text(json.dumps({"job_id": "t1", "sleep_s": 8}))
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        time.sleep(1.0)  # the worker registers
        started = time.monotonic()
        args = ("run", "steps", "--input", str(job), "--timeout", "2")
        done = waybill(server.url, tmp_path, *args, token=ana(server.url))
        assert time.monotonic() - started < 20
        assert done.returncode == 1
        line = one_line(done)
        assert "stopped following after 2s: run " in line
        assert " is running at stage slow on worker w1; " in line
        assert "`waybill show " in line
    finally:
        worker.stop()


def test_the_timeout_ends_following_inside_a_veto_window(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """It used to sleep to the window's end (whatever --timeout said), then end it itself."""
    job = tmp_path / "notify.json"
    job.write_text(json.dumps({"job_id": "vt", "notify": True}))  # a 2 s veto window here
    args = ("run", "steps", "--input", str(job), "--timeout", "0.5")
    done = waybill(server.url, tmp_path, *args, token=ana(server.url))
    assert done.returncode == 1, done.stdout + done.stderr
    line = one_line(done)
    assert "stopped following after 0.5s: run " in line
    assert " is in its veto window; it goes on at " in line
    run_id = line.split("run ")[1].split()[0]
    cp = ControlPlane.from_url(server.url)
    assert cp.runs.get(run_id).status == "waiting"  # the window was not ended by the command
    cp.close()

"""The command line among several processes: deciders racing, workers reusing names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rq import Worker

from tests.integration.runtime import ROOT, WorkerProcess, wait_for, worker_env
from tests.integration.test_cli_redis import LARGE, _run_id, ana, waybill
from tests.redis_servers import ServerUnderTest
from tests.staff import token_for

DECIDERS = 8


def test_every_decider_that_lost_the_race_is_told_who_won(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    waiting = waybill(
        server.url, tmp_path, "run", "procurement", "--input", LARGE, token=ana(server.url)
    )
    assert waiting.returncode == 6, waiting.stdout + waiting.stderr
    run_id = _run_id(waiting.stdout)
    decide = [sys.executable, "-m", "console.cli", "decide", run_id, "--approve"]
    tokens = [token_for(server.url, f"d{i}", "approver", ["finance"]) for i in range(DECIDERS)]
    procs = [
        subprocess.Popen(
            decide,
            env=worker_env(server.url, tmp_path, WAYBILL_TOKEN=tokens[i]),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(DECIDERS)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    winners = [i for i, (code, _, _) in enumerate(results) if code == 0]
    assert len(winners) == 1, results
    winner = f"d{winners[0]}"
    for code, _, err in (r for i, r in enumerate(results) if i != winners[0]):
        assert code == 1
        assert "Traceback" not in err
        [line] = err.strip().splitlines()
        assert re.search(rf"already decided \(approve\) by '{winner}' at \S+", line), line
    shown = waybill(server.url, tmp_path, "show", run_id).stdout
    assert f"approve by {winner}" in shown


def _registered(server: ServerUnderTest, name: str) -> bool:
    return any(w.name == name for w in Worker.all(connection=server.client()))


def _worker(url: str, tmp: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "worker", "--name", name, "--burst"],
        env=worker_env(url, tmp),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_crashed_workers_name_can_be_used_again(server: ServerUnderTest, tmp_path: Path) -> None:
    crashed = WorkerProcess(server.url, tmp_path, "reused-name")
    wait_for(lambda: _registered(server, "reused-name"), 30, "the worker to register")
    crashed.kill()  # SIGKILL: its registration stays behind
    assert _registered(server, "reused-name")
    again = _worker(server.url, tmp_path, "reused-name")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "There exists an active worker" not in again.stderr
    assert "Traceback" not in again.stderr


def test_a_live_workers_name_is_refused(server: ServerUnderTest, tmp_path: Path) -> None:
    live = WorkerProcess(server.url, tmp_path, "taken-name")
    try:
        wait_for(lambda: _registered(server, "taken-name"), 30, "the worker to register")
        refused = _worker(server.url, tmp_path, "taken-name")
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert re.fullmatch(
            rf"waybill: a worker named 'taken-name' is running on \S+ \(pid {live.proc.pid}\): "
            r"stop it first or pick another --name",
            line,
        ), line
        assert live.proc.poll() is None  # the live worker is untouched
    finally:
        live.stop()


def test_a_name_registered_from_another_host_is_refused(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Its process cannot be checked from here, so it is treated as alive."""
    crashed = WorkerProcess(server.url, tmp_path, "far-name")
    wait_for(lambda: _registered(server, "far-name"), 30, "the worker to register")
    crashed.kill()
    server.client().hset(Worker.redis_worker_namespace_prefix + "far-name", "hostname", "far")
    refused = _worker(server.url, tmp_path, "far-name")
    assert refused.returncode == 1
    assert "a worker named 'far-name' is running on far (pid" in refused.stderr

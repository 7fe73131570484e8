"""Stopping ``waybill run`` while it executes a run itself (no worker listening): Ctrl+C or
SIGTERM hands the run back to the queue after its current node, a second Ctrl+C leaves at once;
either way the command says where the run stands, and a worker started later finishes it with
each node and the action once. A kill ends the command inside a node; Ctrl+C while following a
run on a worker, or in a veto window, says what happens next."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from state.control.plane import ControlPlane
from tests.integration.runtime import (
    ROOT,
    WorkerProcess,
    as_a_terminal_starts_it,
    wait_for,
    wait_status,
    worker_env,
)
from tests.integration.test_cli_redis import ana
from tests.integration.test_hold import _decided
from tests.redis_servers import ServerUnderTest


def _cli(url: str, tmp: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``waybill ARGS`` in its own process, as a terminal starts it (SIGINT not ignored,
    whatever the test runner's own disposition), its output unbuffered."""
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", *args],
        env=worker_env(url, tmp, PYTHONUNBUFFERED="1", **env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_a_terminal_starts_it,
    )


def _run_in_cli(url: str, tmp: Path, job: dict[str, object], **env: str) -> subprocess.Popen[str]:
    """``waybill run steps`` with ``job`` as its input, as ana."""
    path = tmp / "job.json"
    path.write_text(json.dumps(job))
    return _cli(url, tmp, "run", "steps", "--input", str(path), WAYBILL_TOKEN=ana(url), **env)


def _interrupted(
    proc: subprocess.Popen[str], ready: Callable[[], object], *stops: signal.Signals
) -> tuple[str, float]:
    """Send ``stops`` (Ctrl+C by default; half a second apart) once ``ready()`` returned; what
    the command wrote to stderr and how long it took to exit after the last signal."""
    try:
        ready()
        for i, stop in enumerate(stops or (signal.SIGINT,)):
            time.sleep(0.5 if i else 0.0)
            proc.send_signal(stop)
        last = time.monotonic()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    return err, time.monotonic() - last


def _inside_slow(cp: ControlPlane, proc: subprocess.Popen[str]) -> str:
    """The run's id, once its slow node is running."""

    def slow() -> str | None:
        assert proc.poll() is None, proc.communicate()
        found = [r for r in cp.runs.list(workflow="steps").items if r.stage == "slow"]
        return found[0].run_id if found else None

    run_id: str = wait_for(slow, 30, "the run's slow stage")
    return run_id


def _stopped(
    cp: ControlPlane, proc: subprocess.Popen[str], *stops: signal.Signals
) -> tuple[str, str, float]:
    """``_interrupted`` once the run is inside its slow node; the run's id first."""
    run_ids: list[str] = []
    err, took = _interrupted(proc, lambda: run_ids.append(_inside_slow(cp, proc)), *stops)
    return run_ids[0], err, took


def _handed_back(
    url: str, tmp: Path, job_id: str, stop: signal.Signals
) -> tuple[ControlPlane, str]:
    """Stop ``waybill run`` with ``stop`` inside the slow node of its run, which it executes;
    the run was handed back to the queue there, and the command said so."""
    cp = ControlPlane.from_url(url)
    proc = _run_in_cli(url, tmp, {"job_id": job_id, "sleep_s": 1})
    run_id, err, _ = _stopped(cp, proc, stop)
    assert f"waybill: stopping: run {run_id} goes back to the queue after its current step" in err
    assert (
        f"waybill: run {run_id} is back in the queue: a worker resumes it at stage finish, "
        "from its last checkpoint (`waybill worker`, or `make up`)"
    ) in err
    back = cp.runs.get(run_id)
    assert back.status == "queued"
    assert _decided(cp, run_id) == ["first", "slow"]  # the slow node ended, and was saved
    return cp, run_id


def test_ctrl_c_hands_the_run_back_and_a_worker_finishes_it(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    raw = server.client()
    cp, run_id = _handed_back(server.url, tmp_path, "i1", signal.SIGINT)
    assert raw.hget("test:effects", "i1") is None
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:
        assert wait_status(cp, run_id, {"succeeded"}, timeout=30).status == "succeeded"
    finally:
        worker.stop()
    assert _decided(cp, run_id) == ["first", "slow", "finish"]  # each node once
    assert raw.hget("test:effects", "i1") == b"1"
    cp.close()


def test_sigterm_hands_the_run_back_as_ctrl_c_does(server: ServerUnderTest, tmp_path: Path) -> None:
    cp, _ = _handed_back(server.url, tmp_path, "i5", signal.SIGTERM)  # a service manager's stop
    cp.close()


def test_a_second_ctrl_c_leaves_at_once_and_a_worker_takes_the_run_over(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    cp = ControlPlane.from_url(server.url)
    raw = server.client()
    proc = _run_in_cli(server.url, tmp_path, {"job_id": "i2", "sleep_s": 20})
    run_id, err, took = _stopped(cp, proc, signal.SIGINT, signal.SIGINT)
    assert took < 5  # not after the 20 s node
    assert (
        f"waybill: left run {run_id} inside its step: a worker resumes it from its last "
        "checkpoint once its lease ends"
    ) in err
    assert cp.runs.get(run_id).status == "running"  # until a worker takes it over
    worker = WorkerProcess(server.url, tmp_path, "w1")
    try:

        def taken_over() -> bool:
            lease = cp.leases.current(run_id)
            return lease is not None and lease.holder == "w1"

        wait_for(taken_over, 30, "a worker to take the run over")
    finally:
        worker.kill()  # not a drain: its node would take 20 s
    assert raw.hget("test:effects", "i2") is None
    cp.close()


def test_a_kill_ends_a_cli_executing_the_run_inside_its_node(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Nothing can stop a node inline, but the run is recorded killed after the kill's grace
    and fenced out: the command says so and exits, and its node ends with it."""
    cp = ControlPlane.from_url(server.url)
    raw = server.client()
    proc = _run_in_cli(server.url, tmp_path, {"job_id": "i3", "sleep_s": 20})
    try:
        run_id = _inside_slow(cp, proc)
        cp.kills.trip("run", run_id, reason="wrong job", user="ana")
        tripped = time.monotonic()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - tripped < 10  # the grace (1 s here), not the 20 s node
    assert proc.returncode == 5, out + err
    assert f"run {run_id}: killed (kill switch run:{run_id} tripped by ana: wrong job" in out
    assert "Traceback" not in err
    assert cp.runs.get(run_id).status == "killed"
    assert raw.hget("test:effects", "i3") is None
    cp.close()


def test_ctrl_c_while_following_a_run_on_a_worker_says_it_goes_on(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    cp = ControlPlane.from_url(server.url)
    cp.runs.create("elsewhere-1", "steps")
    cp.leases.acquire("elsewhere-1", "w9", ttl=60)  # a worker of another machine executes it
    cp.runs.update("elsewhere-1", status="running", stage="slow")
    proc = _cli(server.url, tmp_path, "show", "elsewhere-1", "--follow")

    def following() -> None:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("run elsewhere-1 of steps")
        time.sleep(0.5)  # following now

    err, _ = _interrupted(proc, following)
    assert err.strip() == (
        "waybill: stopped following run elsewhere-1 (running); it goes on without this command: "
        "`waybill show elsewhere-1 -f` follows it, "
        "`waybill kill --run elsewhere-1 --reason TEXT` stops it"
    )
    assert cp.runs.get("elsewhere-1").status == "running"
    cp.close()


def test_ctrl_c_in_a_veto_window_says_the_action_goes_ahead_unless_vetoed(
    server: ServerUnderTest, tmp_path: Path
) -> None:
    """Without a worker the command itself ends the window; stopped, it says who will."""
    cp = ControlPlane.from_url(server.url)
    job = {"job_id": "i4", "notify": True}  # a notify-tier action: a veto window
    proc = _run_in_cli(server.url, tmp_path, job, WAYBILL_VETO_WINDOW_S="60")

    def in_the_window() -> None:
        assert proc.stdout is not None
        next(line for line in proc.stdout if "veto window: proceeding in" in line)

    err, _ = _interrupted(proc, in_the_window)
    [run] = cp.runs.list(workflow="steps").items
    assert run.status == "waiting"
    assert err.strip() == (
        f"waybill: run {run.run_id} goes on when its veto window ends (a worker ends it: "
        f"`waybill worker`), unless vetoed first (`waybill decide {run.run_id} --veto`)"
    )
    cp.close()

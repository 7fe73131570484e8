"""``waybill up``: the main job starts, answers, and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Worker

from state.embedded import start_embedded
from tests.integration.runtime import ROOT, as_a_terminal_starts_it, wait_for
from tests.redis_servers import free_port


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment mentions ``marker`` (our unique data directory)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def start_up(
    tmp_path: Path, name: str, **popen: Any
) -> tuple[subprocess.Popen[bytes], dict[str, str], Path, int]:
    """``waybill up`` on data directory ``tmp_path/name`` and a free console port, its output
    in ``tmp_path/up.log`` (``popen``: more arguments for ``Popen``), once its console answers;
    returns it, its environment, its log and the console's port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
    env |= {"WAYBILL_DATA_DIR": str(tmp_path / name), "WAYBILL_CONSOLE_PORT": str(port)}
    log = tmp_path / "up.log"
    up = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "up"],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        **popen,
    )
    try:
        wait_for(lambda: _health(f"http://127.0.0.1:{port}"), 60, "the console", tick=0.3)
    except BaseException:
        up.kill()
        raise
    return up, env, log, port


@contextmanager
def stopping(up: subprocess.Popen[bytes], log: Path, data_dir: Path) -> Iterator[None]:
    """Around the stopping of ``up`` (started in a session of its own): afterwards it has exited
    0, said so without a traceback and left no process behind (killed if the body failed)."""
    try:
        yield
        assert up.wait(timeout=30) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    out = log.read_text()
    assert "waybill: stopping" in out
    assert "Traceback" not in out, out
    time.sleep(0.5)
    assert _processes_with(str(data_dir)) == []


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:  # noqa: S310
            return bool(reply.read() == b"ok")
    except OSError:
        return False


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``waybill ARGS`` in another process, as from another terminal."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _run_small_order(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``waybill run procurement --example small_order`` from another terminal, as the admin
    ``up`` created (with an API token issued for it)."""
    issued = _cli(env, "user", "token", "admin")
    assert issued.returncode == 0, issued.stderr
    token = {**env, "WAYBILL_TOKEN": issued.stdout.strip()}
    return _cli(token, "run", "procurement", "--example", "small_order", timeout=120)


def test_up_serves_the_console_and_sigterm_leaves_no_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "waybill-up-data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
    env |= {"WAYBILL_DATA_DIR": str(data_dir), "WAYBILL_CONSOLE_PORT": str(port)}
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "up"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _health(url), 60, "the console to answer", tick=0.3)
        out = (tmp_path / "up.log").read_text()
        assert f"console at {url}" in out
        assert "Redis: embedded Valkey" in out
        assert "first run: created the console user 'admin' (role admin) with password" in out
        children = _processes_with(str(data_dir))
        assert len(children) >= 3  # the embedded Valkey, a worker, the console
        # Another terminal finds the server (and its password) through the data directory, and
        # the worker `up` started authenticated with it too: it executes the run.
        with start_embedded(data_dir, handle_signals=False) as found:
            assert not found.owner
            client = redis.Redis.from_url(found.url)
            wait_for(lambda: Worker.count(connection=client) == 1, 60, "the worker", tick=0.3)
            client.close()
        done = _run_small_order(env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "executing on 1 worker(s)" in done.stdout
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
    finally:
        if up.poll() is None:
            up.kill()
    time.sleep(0.5)
    assert _processes_with(str(data_dir)) == []
    assert not _health(f"http://127.0.0.1:{port}")


def test_ctrl_c_on_up_stops_everything_cleanly_and_a_run_afterwards_does_not_hang(
    tmp_path: Path,
) -> None:
    """Ctrl+C is SIGINT to the terminal's whole foreground process group: the embedded Valkey
    must outlive the worker and the console, which deregister first; nothing stays behind."""
    data_dir = tmp_path / "waybill-ctrl-c"
    up, env, log_path, _ = start_up(
        tmp_path,
        data_dir.name,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
        preexec_fn=as_a_terminal_starts_it,
    )
    with stopping(up, log_path, data_dir):
        wait_for(lambda: "waybill worker on queue" in log_path.read_text(), 60, "the worker")
        os.killpg(up.pid, signal.SIGINT)
    with start_embedded(data_dir, handle_signals=False) as found:
        client = redis.Redis.from_url(found.url)
        assert Worker.count(connection=client) == 0  # no stale registration
        client.close()
    done = _run_small_order(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "executing on this process (no worker is listening)" in done.stdout
    assert _processes_with(str(data_dir)) == []


def test_up_on_a_port_in_use_says_so_and_starts_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "waybill-up-data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
        env |= {"WAYBILL_DATA_DIR": str(data_dir)}
        up = _cli(env, "up", "--port", str(port))
    assert up.returncode == 1
    assert up.stderr.strip() == (
        f"waybill: port {port} on 127.0.0.1 is in use (another console?): stop it, or choose "
        "another with --port N (or WAYBILL_CONSOLE_PORT); nothing was started"
    )
    assert _processes_with(str(data_dir)) == []  # no Valkey, no worker, no console


@pytest.mark.parametrize(
    ("command", "what"), [("a2a", "A2A server"), ("metrics", "metrics server")]
)
def test_the_other_servers_on_a_port_in_use_say_so_in_one_line(
    tmp_path: Path, command: str, what: str
) -> None:
    """They printed uvicorn's bind error, or 'unexpected error (OSError ...)'."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
        env |= {"WAYBILL_DATA_DIR": str(tmp_path / "data")}
        served = _cli(env, command, "--port", str(port))
    assert served.returncode == 1
    assert served.stderr.strip() == (
        f"waybill: port {port} on 127.0.0.1 is in use (another {what}?): stop it, or choose "
        "another with --port N; nothing was started"
    )


def test_a_killed_console_comes_back_and_a_worker_that_exits_stops_the_rest(
    tmp_path: Path,
) -> None:
    """Killed by a signal (SIGKILL, out of memory): started again. Exited on its own (it said
    why): ``up`` says so and stops the rest."""
    data_dir = tmp_path / "waybill-up-data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
    env |= {"WAYBILL_DATA_DIR": str(data_dir), "WAYBILL_CONSOLE_PORT": str(port)}
    up = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "up"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def running(program: bytes) -> list[int]:
        return [
            pid
            for pid in _processes_with(str(data_dir))
            if program in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]

    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _health(url), 60, "the console", tick=0.3)
        [console] = running(b"streamlit")
        os.kill(console, signal.SIGKILL)
        wait_for(lambda: running(b"streamlit") not in ([], [console]), 30, "a new console")
        wait_for(lambda: _health(url), 60, "the console to answer again", tick=0.3)
        assert up.poll() is None
        [worker] = [pid for pid in running(b"console.cli\0worker") if _parent(pid) == up.pid]
        os.kill(worker, signal.SIGTERM)  # asked to stop: it drains and exits 0
        _, err = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 1
    assert "waybill: the console was killed (SIGKILL): starting it again" in err
    assert "waybill: worker 1 exited (code 0): stopping the rest" in err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert _processes_with(str(data_dir)) == []

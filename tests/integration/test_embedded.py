"""The embedded Valkey launcher with real processes: start, reuse, SIGTERM, stale files, orphans."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from state.control.errors import RedisUnavailable
from state.embedded import resolve_redis_url, start_embedded
from state.embedded_files import STATE_FILE
from state.embedded_probe import process_alive
from state.settings import Settings
from tests.redis_servers import ServerUnderTest, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# A process of the data directory: resolve the URL, report, optionally write a key, then either
# exit normally ("once") or wait to be signalled ("wait").
CHILD = """
import json, sys, time
import redis
from state.embedded import resolve_redis_url
url, handle = resolve_redis_url()
if len(sys.argv) > 2:
    redis.Redis.from_url(url).set("written-by", sys.argv[2])
print(json.dumps({"url": url, "pid": handle.pid, "owner": handle.owner}), flush=True)
while sys.argv[1] == "wait":
    time.sleep(0.05)
"""


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYBILL_REDIS_URL")}
    env["WAYBILL_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    return env


def spawn(data_dir: Path, mode: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, *extra],
        cwd=ROOT,
        env=env_for(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        assert proc.stderr is not None
        pytest.fail(f"child failed: {proc.stderr.read()}")
    return dict(json.loads(line))


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "waybill-data"
    state = tmp_path / "waybill-data" / "redis" / STATE_FILE
    if state.exists():  # never leave a server behind, even when a test fails
        pid = json.loads(state.read_text())["pid"]
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_reuse_from_another_process_and_stop_on_sigterm(data_dir: Path) -> None:
    owner = spawn(data_dir, "wait")
    first = report(owner)
    assert first["owner"] is True
    pid = int(str(first["pid"]))

    reuser = subprocess.run(
        [sys.executable, "-c", CHILD, "once", "hello"],
        cwd=ROOT,
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    second = json.loads(reuser.stdout)
    assert second == {"url": first["url"], "pid": pid, "owner": False}
    client = redis.Redis.from_url(str(first["url"]), decode_responses=True)
    assert client.ping()  # the reuser's exit did not stop the server
    assert (data_dir / "redis" / "appendonlydir").is_dir()

    owner.send_signal(signal.SIGTERM)
    assert owner.wait(timeout=15) == 128 + signal.SIGTERM
    assert gone(pid), "the embedded Valkey outlived its owner's SIGTERM"
    assert not (data_dir / "redis" / STATE_FILE).exists()

    # the next start finds the data in the AOF
    handle = start_embedded(data_dir, handle_signals=False)
    try:
        assert handle.owner
        assert handle.pid != pid
        again = redis.Redis.from_url(handle.url, decode_responses=True)
        assert again.get("written-by") == "hello"
        again.close()
    finally:
        handle.close()
    assert gone(handle.pid)


def test_normal_exit_stops_the_server(data_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "once"],
        cwd=ROOT,
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(proc.stdout)
    assert info["owner"] is True
    assert gone(info["pid"])
    assert not (data_dir / "redis" / STATE_FILE).exists()


def test_concurrent_starters_share_one_server(data_dir: Path) -> None:
    procs = [spawn(data_dir, "wait") for _ in range(3)]
    infos = [report(p) for p in procs]
    assert len({i["url"] for i in infos}) == 1
    assert sum(bool(i["owner"]) for i in infos) == 1
    owner = next(p for p, i in zip(procs, infos, strict=True) if i["owner"])
    pid = int(str(infos[0]["pid"]))
    for proc in procs:
        if proc is not owner:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
    assert process_alive(pid)  # reusers never stop it
    owner.send_signal(signal.SIGTERM)
    owner.wait(timeout=15)
    assert gone(pid)


def test_stale_state_file_is_replaced(data_dir: Path, server: ServerUnderTest) -> None:
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True)
    dead = {"url": f"redis://127.0.0.1:{free_port()}/0", "pid": 2**22 + 7, "owner_pid": 1}
    (redis_dir / STATE_FILE).write_text(json.dumps(dead))
    with start_embedded(data_dir, handle_signals=False) as handle:
        assert handle.owner
        assert handle.url != dead["url"]
    # a file naming a live server that is not ours (another process on a reused port)
    foreign = {"url": server.url, "pid": 2**22 + 7, "owner_pid": os.getpid()}
    (redis_dir / STATE_FILE).write_text(json.dumps(foreign))
    with start_embedded(data_dir, handle_signals=False) as handle:
        assert handle.owner
        assert handle.url != server.url
    assert server.client().ping()  # the foreign server was left alone
    (redis_dir / STATE_FILE).write_text("{not json")
    with start_embedded(data_dir, handle_signals=False) as handle:
        assert handle.owner


def test_orphan_of_a_killed_owner_is_taken_over(data_dir: Path) -> None:
    owner = spawn(data_dir, "wait", "before-the-crash")
    info = report(owner)
    orphan = int(str(info["pid"]))
    owner.kill()  # SIGKILL: no cleanup can run
    owner.wait(timeout=10)
    assert process_alive(orphan)

    with start_embedded(data_dir, handle_signals=False) as handle:
        assert handle.owner
        assert gone(orphan, timeout=1)
        client = redis.Redis.from_url(handle.url, decode_responses=True)
        assert client.get("written-by") == "before-the-crash"
        client.close()


def test_redis_url_wins(tmp_path: Path) -> None:
    settings = Settings(REDIS_URL="redis://user:pw@127.0.0.1:6390/2", WAYBILL_DATA_DIR=tmp_path)
    assert resolve_redis_url(settings) == ("redis://user:pw@127.0.0.1:6390/2", None)
    assert not (tmp_path / "redis").exists()


def test_a_supervised_server_that_died_is_waited_for_and_revived_on_its_port_and_data(
    data_dir: Path,
) -> None:
    """``waybill up`` owns the server supervised: when it dies, another process of the data
    directory waits for the owner to start it again (rather than start a second server on the
    same AOF), and the revived server has the same URL and the data."""
    handle = start_embedded(data_dir, handle_signals=False, supervised=True)
    try:
        client = redis.Redis.from_url(handle.url, decode_responses=True)
        client.set("kept", "yes")
        client.close()
        time.sleep(1.2)  # appendfsync everysec: the key is on disk
        dead = handle.pid
        os.kill(dead, signal.SIGKILL)
        assert gone(dead)
        assert not handle.alive()
        other = spawn(data_dir, "once")
        time.sleep(1.0)  # the other process is waiting, not starting its own server
        assert other.poll() is None, other.communicate()
        handle.revive()
        assert handle.pid != dead
        assert handle.alive()
        info = report(other)
        assert other.wait(timeout=15) == 0
        assert info == {"url": handle.url, "pid": handle.pid, "owner": False}
        again = redis.Redis.from_url(handle.url, decode_responses=True)
        assert again.get("kept") == "yes"
        again.close()
        state = json.loads((data_dir / "redis" / STATE_FILE).read_text())
        assert (state["pid"], state["owner_pid"]) == (handle.pid, os.getpid())
    finally:
        handle.close()
    assert gone(handle.pid)


def test_revive_refuses_when_it_cannot_or_need_not(data_dir: Path) -> None:
    """A running server is not started twice; a reuser cannot restart the owner's server."""
    owner = start_embedded(data_dir, handle_signals=False, supervised=True)
    try:
        with pytest.raises(RedisUnavailable, match="is still running"):
            owner.revive()
        reuser = start_embedded(data_dir, handle_signals=False)
        assert not reuser.owner
        os.kill(owner.pid, signal.SIGKILL)
        assert gone(owner.pid)
        with pytest.raises(RedisUnavailable, match="only the process that started"):
            reuser.revive()
    finally:
        owner.close()


def test_a_hung_server_is_never_doubled(data_dir: Path) -> None:
    """A server that is alive but does not answer (stopped, swapping) keeps its AOF: a second
    server on it would corrupt it, so the next process says so instead of starting one."""
    owner = start_embedded(data_dir, handle_signals=False)
    redis.Redis.from_url(owner.url).set("written", "before the freeze")
    os.kill(owner.pid, signal.SIGSTOP)
    try:
        with pytest.raises(RedisUnavailable, match="is running but does not answer"):
            start_embedded(data_dir, handle_signals=False, timeout=3)
        state = json.loads((data_dir / "redis" / STATE_FILE).read_text())
        assert state["pid"] == owner.pid  # nothing replaced it
        closing = time.monotonic()
        owner.close()  # its owner stops it all the same: woken, then shut down cleanly
        assert time.monotonic() - closing < 5  # not the 10 s before a SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(owner.pid, signal.SIGCONT)
        owner.close()
    assert gone(owner.pid)
    again = start_embedded(data_dir, handle_signals=False)
    try:
        assert redis.Redis.from_url(again.url).get("written") == b"before the freeze"
    finally:
        again.close()

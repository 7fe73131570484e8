"""A real Redis Cluster for tests: three ``redis-server --cluster-enabled yes`` primaries on
loopback (and, asked for, a replica of each), joined with ``redis-cli --cluster create``
(Debian's redis-server 7)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.redis_servers import REDIS7_BINARY, require_redis7

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NODES = 3


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(count: int = NODES) -> list[int]:
    """Free ports below 22768 whose cluster-bus ports (+10000) are free too (ports from
    32768 up are the machine's ephemeral range: see TESTING.md)."""
    found: list[int] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        start = 12000 + probe.getsockname()[1] % 9000
    for port in range(start, 22768):
        if _free(port) and _free(port + 10000):
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError("no free ports for a cluster")


def require_cluster_tools() -> None:
    """Skip locally (with the reason) when redis-server or redis-cli is missing; under CI=true
    fail instead."""
    require_redis7()
    if Path(REDIS_CLI).exists():
        return
    msg = "Debian's redis-cli is not installed (apt-get install redis-tools)"
    if os.environ.get("CI") == "true":
        pytest.fail(msg + ": CI must install it (.ci/run)")
    pytest.skip(msg)


class Cluster:
    """Three primaries on loopback, started and joined; ``url`` names the first node.

    Args:
        data_dir: Where the nodes keep their files.
        replicas: Replicas per primary; with them a primary that stops answering for
            ``NODE_TIMEOUT_MS`` is failed over to its replica.
    """

    NODE_TIMEOUT_MS = 1000

    def __init__(self, data_dir: Path, replicas: int = 0) -> None:
        self.data_dir = data_dir
        self.replicas = replicas
        self.ports = cluster_ports(NODES * (1 + replicas))
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        failover = ["--cluster-node-timeout", str(self.NODE_TIMEOUT_MS)] if self.replicas else []
        for port in self.ports:
            node = self.data_dir / str(port)
            node.mkdir(parents=True, exist_ok=True)
            log = open(node / "redis.log", "ab")  # noqa: SIM115 - closed by the process
            self.procs.append(
                subprocess.Popen(
                    [
                        *(REDIS7_BINARY, "--port", str(port), "--bind", "127.0.0.1"),
                        *("--cluster-enabled", "yes"),
                        *("--cluster-config-file", str(node / "nodes.conf")),
                        *("--dir", str(node), "--save", "", "--appendonly", "no"),
                        *failover,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port in self.ports:
            _wait(lambda p=port: redis.Redis(port=p).ping())
        subprocess.run(
            [
                *(REDIS_CLI, "--cluster", "create"),
                *(f"127.0.0.1:{p}" for p in self.ports),
                *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            _wait(lambda p=port: _cluster_ok(p))
            _wait(lambda p=port: _in_sync(p))

    def process_of(self, port: int) -> subprocess.Popen[bytes]:
        """The node's process (to kill it)."""
        return self.procs[self.ports.index(port)]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)
        self.procs = []


def _cluster_ok(port: int) -> bool:
    info: dict[str, object] = redis.Redis(port=port).info("cluster")
    if not info.get("cluster_enabled"):
        return False
    reply = redis.Redis(port=port, decode_responses=True).cluster("info")
    return isinstance(reply, dict) and reply.get("cluster_state") == "ok"


def _in_sync(port: int) -> bool:
    """A primary, or a replica whose link to its primary is up."""
    info: dict[str, object] = redis.Redis(port=port).info("replication")
    return info.get("role") == "master" or info.get("master_link_status") == "up"


def _wait(ready: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not come up")
        time.sleep(0.1)

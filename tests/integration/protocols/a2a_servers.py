"""``waybill a2a`` in a process of its own, for tests (a real server on a free port)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from state.control.connection import connect
from state.control.tokens import TokenStore
from state.control.users import ScryptParams, UserStore
from tests.integration.runtime import ROOT, wait_for, worker_env
from tests.redis_servers import free_port

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Served:
    """A running ``waybill a2a``: where it is, and an API token of console user ``user``."""

    base: str
    token: str


@contextmanager
def a2a_server(url: str, data_dir: Path, modules: str, user: str = "a2a") -> Iterator[Served]:
    """Serve the workflows of Redis ``url`` over A2A, with a token of ``user`` (an approver)
    for the callers."""
    client = connect(url)
    users = UserStore(client, params=ScryptParams(n=2**12))
    if users.get(user) is None:
        users.add(user, "approver", PASSWORD)
    token, _ = TokenStore(client).issue(user, "a2a test")
    client.close()
    port = free_port()
    env = worker_env(url, data_dir)
    env["WAYBILL_WORKFLOW_MODULES"] = modules
    log = data_dir / f"a2a-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "a2a", "--port", str(port), "--wait", "5"],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"waybill a2a exited: {log.read_text()}")
        try:
            return httpx.get(base + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 30, "waybill a2a to answer")
        yield Served(base, token)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

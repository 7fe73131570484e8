"""Browser journeys: a real Valkey, a real worker, a real Streamlit server, Debian's Chromium.

Everything is started on free 127.0.0.1 ports by the ``stack`` fixture (once per session) and
stopped at the end. Locally the journeys are skipped, with the reason, when Chromium is
missing; under ``CI=true`` that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console.launch import console_command, stop_all
from state.control.connection import connect
from state.control.plane import ControlPlane
from state.roles import Role
from tests.receiver import Receiver
from tests.redis_servers import ServerUnderTest, free_port
from tests.staff import PROCUREMENT_GROUPS, add_staff

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
MODULES = ["tests.e2e.slow_workflow", "tests.e2e.hostile_workflow"]
PASSWORD = "correct-horse"
USERS: dict[str, Role] = {"ana": "admin", "bob": "approver", "cleo": "approver", "vic": "viewer"}
GROUPS = {"bob": PROCUREMENT_GROUPS, "cleo": PROCUREMENT_GROUPS}
"""bob and cleo decide every procurement stage; ana (admin) only through the admin fallback."""
WEBHOOK_KEY = "e2e-signing-key"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    msg = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(msg + ": CI must install it (.ci/run)")
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=msg))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@dataclass
class Stack:
    url: str
    redis_url: str
    cp: ControlPlane
    logs: Path
    hook: Receiver
    """Where the worker sends its notifications (signed with ``WEBHOOK_KEY``)."""


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 - owned by the child for its lifetime
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_health(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:  # noqa: S310
                if reply.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"Streamlit did not become healthy; its log:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def hook() -> Iterator[Receiver]:
    """A real HTTP receiver for the worker's webhooks, for the whole session."""
    with Receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, hook: Receiver) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    server = ServerUnderTest("valkey", tmp / "valkey")
    server.start()
    client = connect(server.url)
    add_staff(ControlPlane(client), USERS, GROUPS, PASSWORD)
    port = free_port()
    sink = {"name": "e2e", "url": hook.url, "secret": WEBHOOK_KEY}
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "WAYBILL_WORKFLOW_MODULES": json.dumps(MODULES),
        "WAYBILL_KILL_GRACE_S": "3",
        "WAYBILL_WEBHOOKS": json.dumps([sink]),
        "WAYBILL_CONSOLE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    worker = spawn([sys.executable, "-m", "console.cli", "worker"], env, tmp / "worker.log")
    # Launched exactly as `waybill up` launches it (origin guard, CORS/XSRF options).
    console = spawn(console_command("127.0.0.1", port), env, tmp / "console.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_health(url, console, tmp / "console.log")
        yield Stack(url=url, redis_url=server.url, cp=ControlPlane(client), logs=tmp, hook=hook)
    finally:
        stop_all([console, worker])
        client.close()
        server.stop()


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.url


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the journeys save their screenshots.

    ``WAYBILL_UPDATE_SCREENSHOTS=1`` writes the README's images in ``docs/screenshots``;
    otherwise they go to a temporary folder, so a test run leaves the work tree clean.
    """
    if os.environ.get("WAYBILL_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")

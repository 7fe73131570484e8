"""Connecting: Redis down gives one clear line; passwords never leak into messages."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from state.control.connection import connect
from state.control.errors import RedisUnavailable
from state.control.plane import ControlPlane
from tests.redis_servers import ServerUnderTest, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_closed_port_gives_one_clear_line() -> None:
    url = f"redis://admin:s3cret@127.0.0.1:{free_port()}/0"
    start = time.monotonic()
    with pytest.raises(RedisUnavailable) as info:
        connect(url, check_retries=2, backoff_base=0.01)
    message = str(info.value)
    assert time.monotonic() - start < 5
    assert "\n" not in message
    assert "s3cret" not in message
    assert "redis://admin:***@127.0.0.1" in message
    assert "unset REDIS_URL to use the embedded server" in message


def test_plane_from_url_is_the_same_error() -> None:
    with pytest.raises(RedisUnavailable, match="cannot reach Redis"):
        ControlPlane.from_url(f"redis://127.0.0.1:{free_port()}/0")


def test_invalid_url() -> None:
    with pytest.raises(RedisUnavailable, match="invalid Redis URL"):
        connect("http://example.org/")


def test_wrong_password(server: ServerUnderTest) -> None:
    admin = connect(server.url)
    admin.acl_setuser(
        "waybill",
        enabled=True,
        passwords=["+right"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    with pytest.raises(RedisUnavailable, match="refused our credentials") as info:
        connect(server.url.replace("redis://", "redis://waybill:wrong@"))
    assert ":wrong@" not in str(info.value)
    ok = connect(server.url.replace("redis://", "redis://waybill:right@"))
    assert ok.ping()


def test_message_is_printable_without_traceback() -> None:
    """What a command line shows: ``str(exc)`` on one line, nothing else."""
    code = (
        "from state.control.connection import connect\n"
        "from state.control.errors import RedisUnavailable\n"
        "try:\n"
        f"    connect('redis://127.0.0.1:{free_port()}/0', check_retries=0)\n"
        "except RedisUnavailable as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert len(out.stdout.strip().splitlines()) == 1
    assert out.stderr == ""


def test_the_quick_startup_check_leaves_commands_their_long_timeout(
    server: ServerUnderTest,
) -> None:
    """The check waits ~3 s for a reply; a blocking read longer than that still works after it
    (workers' blocking reads rely on the 30 s reply timeout)."""
    client = connect(server.url, check_timeout=1.0)
    try:
        started = time.monotonic()
        assert client.blpop(["test:conn:nothing"], timeout=2) is None
        assert time.monotonic() - started >= 1.5
    finally:
        client.close()

"""The embedded Valkey's generated password: required, private (0600), kept across restarts."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from state.control.errors import RedisUnavailable
from state.embedded import start_embedded
from state.embedded_files import ACL_FILE, PASSWORD_FILE, STATE_FILE
from state.embedded_probe import process_alive
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "waybill-data"
    state = tmp_path / "waybill-data" / "redis" / STATE_FILE
    if state.exists():  # never leave a server behind, even when a test fails
        pid = json.loads(state.read_text())["pid"]
        if process_alive(pid):
            os.kill(pid, 9)


def test_a_client_without_the_password_is_refused(data_dir: Path) -> None:
    with start_embedded(data_dir, handle_signals=False) as handle:
        parts = urlsplit(handle.url)
        password = (data_dir / "redis" / PASSWORD_FILE).read_text().strip()
        assert parts.username == "waybill"
        assert parts.password == password
        assert len(password) >= 32
        ours = redis.Redis.from_url(handle.url, decode_responses=True)
        ours.hset("wb:user:ana", "role", "admin")

        bare = f"redis://{parts.hostname}:{parts.port}/0"
        stranger = redis.Redis.from_url(bare, decode_responses=True)
        assert stranger.ping()  # a readiness probe is all it may do
        for command in (
            lambda: stranger.hget("wb:user:ana", "role"),
            lambda: stranger.hset("wb:user:ana", "role", "viewer"),
            lambda: stranger.keys("*"),
            lambda: stranger.config_get("requirepass"),
            lambda: stranger.acl_list(),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                command()
        guesser = redis.Redis.from_url(f"redis://waybill:guess@{parts.hostname}:{parts.port}/0")
        with pytest.raises(redis.AuthenticationError):
            guesser.ping()
        assert ours.hget("wb:user:ana", "role") == "admin"
        for client in (ours, stranger, guesser):
            client.close()


def test_the_password_files_are_private_and_the_password_is_kept(data_dir: Path) -> None:
    redis_dir = data_dir / "redis"
    with start_embedded(data_dir, handle_signals=False) as first:
        redis.Redis.from_url(first.url).set("kept", "yes")
    assert _mode(redis_dir) == 0o700
    for name in (PASSWORD_FILE, ACL_FILE):
        assert _mode(redis_dir / name) == 0o600, name
    password = (redis_dir / PASSWORD_FILE).read_text()
    assert password.strip() not in (redis_dir / ACL_FILE).read_text()  # only its SHA-256

    os.chmod(redis_dir / PASSWORD_FILE, 0o644)  # loosened by hand: tightened again
    with start_embedded(data_dir, handle_signals=False) as second:
        assert _mode(redis_dir / PASSWORD_FILE) == 0o600
        assert _mode(redis_dir / STATE_FILE) == 0o600
        assert password.strip() not in (redis_dir / STATE_FILE).read_text()
        assert (redis_dir / PASSWORD_FILE).read_text() == password
        assert redis.Redis.from_url(second.url).get("kept") == b"yes"


def test_a_running_server_without_a_password_is_not_doubled(
    data_dir: Path, server: ServerUnderTest
) -> None:
    """An older Waybill's server (no password) still running: refuse, never start a second."""
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True)
    pid = int(server.client().info("server")["process_id"])
    state = {"url": server.url, "pid": pid, "owner_pid": os.getpid()}
    (redis_dir / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(RedisUnavailable, match="started without a password by an older Waybill"):
        start_embedded(data_dir, handle_signals=False)
    assert json.loads((redis_dir / STATE_FILE).read_text()) == state
    assert server.client().ping()


def test_a_replaced_password_file_never_starts_a_second_server(data_dir: Path) -> None:
    password_file = data_dir / "redis" / PASSWORD_FILE
    with start_embedded(data_dir, handle_signals=False) as running:
        kept = password_file.read_text()
        password_file.write_text("someone-else-s-password\n")
        with pytest.raises(RedisUnavailable, match=r"refuses .*password: stop it first"):
            start_embedded(data_dir, handle_signals=False)
        assert json.loads((data_dir / "redis" / STATE_FILE).read_text())["pid"] == running.pid
        password_file.write_text(kept)
        again = start_embedded(data_dir, handle_signals=False)
        assert (again.pid, again.owner) == (running.pid, False)

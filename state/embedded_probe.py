"""What runs where: is a process alive, which server answers at a URL, stopping an orphan.

Used by the embedded launcher (``state.embedded``) and by workers checking a crashed
namesake's registration (``graph.runtime.worker``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis

from state.embedded_files import with_credentials

REFUSES_US = -1
"""The pid ``server_pid`` reports for a server that answers but refuses us."""


def server_pid(url: str, password: str) -> tuple[int, bool] | None:
    """``(pid, needs_password)`` of the server at ``url``; ``None`` if nothing answers.

    A server that answers but refuses both our password and no password gives ``REFUSES_US``.
    """
    for secret in (password, None):
        client = redis.Redis.from_url(
            with_credentials(url, secret), socket_timeout=2.0, socket_connect_timeout=2.0
        )
        try:
            info: dict[str, Any] = client.info("server")
            return int(info.get("process_id", -1)), secret is not None
        except (redis.AuthenticationError, redis.exceptions.NoPermissionError):
            continue
        except (redis.RedisError, OSError):
            return None
        finally:
            client.close()
    return REFUSES_US, True


def process_alive(pid: int) -> bool:
    """True if ``pid`` is a running process (a zombie, exited but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): the signal check above is all we have
    return stat.rpartition(")")[2].split()[0] != "Z"


def is_valkey(pid: int) -> bool:
    """True if ``pid`` is a running Valkey (or Redis) server: alive, and its command line says so
    (a pid reused by another program after a reboot is not; without procfs, alive is enough)."""
    if not process_alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"valkey" in command or b"redis" in command


def shutdown_orphan(url: str, pid: int, timeout: float) -> None:
    """Stop a server whose owner died (SHUTDOWN writes the AOF out first)."""
    client = redis.Redis.from_url(url, socket_timeout=timeout)
    with contextlib.suppress(redis.RedisError, OSError):
        client.shutdown()
    client.close()
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

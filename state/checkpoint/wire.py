"""One ordered, pipelined connection per saver: send now, read the replies on the next wait.

LangGraph calls ``put_writes`` and ``put`` separately, from background threads, and under
``durability="sync"`` waits only for ``put`` (for a ``DeltaChannel`` it even waits for the
writes before calling ``put``). Sending the writes' script without reading its reply, then the
checkpoint's script on the same connection, makes one round trip of the two: Redis runs the
commands of one connection in order, so the writes are applied before the checkpoint, and the
``put`` that LangGraph waits for returns only after both replies have been read.

Every call goes through this connection, so a read always sees this saver's earlier writes.
A reply read on a later wait is still checked (a refused write raises there). A connection
error resends everything not yet acknowledged (every script is idempotent) with the client's
retry policy; a new connection first loads the scripts, in the same flight.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError, ResponseError
from redis.retry import Retry

Command = tuple[Any, ...]


def _identity(reply: Any) -> Any:
    return reply


@dataclass
class Call:
    """One command and how to check its reply (``check`` may raise)."""

    command: Command
    check: Callable[[Any], Any] = _identity


@dataclass
class Scripts:
    """Lua sources by name and their SHA1, as ``EVALSHA`` wants them."""

    sources: dict[str, str]
    shas: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.shas = {n: hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest()
                     for n, s in self.sources.items()}  # fmt: skip

    def evalsha(self, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Command:
        """The ``EVALSHA`` command running script ``name``."""
        return ("EVALSHA", self.shas[name], len(keys), *keys, *args)

    def loads(self) -> list[Command]:
        """``SCRIPT LOAD`` of every script (sent first on a new connection)."""
        return [("SCRIPT", "LOAD", s) for s in self.sources.values()]


class Outbox:
    """Calls sent (or to send) and not acknowledged yet, in order; I/O-free."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.sent = 0  # how many of ``calls`` the current connection has been sent
        self.loading = 0  # SCRIPT LOAD replies to skip before the first call's reply

    def reset(self) -> None:
        """The connection was lost: everything unacknowledged goes again."""
        self.sent = 0
        self.loading = 0

    def take(self, reply: Any) -> tuple[Call, Any]:
        """Acknowledge the oldest call with ``reply``: the call and its checked value (or the
        exception its check or Redis gave).

        Raises:
            ConnectionError: The script cache was flushed under us: reconnect and resend.
        """
        if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
            raise ConnectionError("Redis lost the checkpointer's scripts; resending")
        call = self.calls.pop(0)
        self.sent -= 1
        if isinstance(reply, BaseException):
            return call, reply
        try:
            return call, call.check(reply)
        except Exception as exc:  # a refused write: raised once every reply is read
            return call, exc


class _Link:
    """The connection and its outbox (separate from ``Wire`` so a finalizer can drain it)."""

    def __init__(self, make: Callable[[], AbstractConnection]) -> None:
        self.make = make
        self.conn: AbstractConnection | None = None
        self.box = Outbox()

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.disconnect()  # type: ignore[no-untyped-call]
        self.conn = None
        self.box.reset()


def _drain_and_close(link: _Link) -> None:
    """Read what is still unread before the socket closes (so nothing is cut off), quietly."""
    try:
        if link.conn is not None:
            for _ in range(link.box.loading + link.box.sent):
                link.conn.read_response(disable_decoding=True)
    except Exception:  # noqa: S110 - best effort at garbage collection or exit
        pass
    finally:
        if link.conn is not None:
            link.conn.disconnect()  # type: ignore[no-untyped-call]
        link.conn = None
        link.box.calls.clear()
        link.box.reset()


class Wire:
    """The saver's connection: ``send`` pipelines calls, ``wait=True`` reads every reply.

    Args:
        client: The saver's ``redis.Redis``; the connection is made like its pool's ones
            (address, credentials, TLS, timeouts) and retries with its ``retry`` policy.
        scripts: The Lua scripts the calls run.
    """

    def __init__(self, client: redis.Redis, scripts: Scripts) -> None:
        pool = client.connection_pool
        kwargs = dict(pool.connection_kwargs)
        self.scripts = scripts
        self._retry: Retry = kwargs.get("retry") or Retry(NoBackoff(), 0)
        self._link = _Link(lambda: pool.connection_class(**kwargs))
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _drain_and_close, self._link)

    def send(self, calls: Sequence[Call], *, wait: bool = True) -> list[Any]:
        """Send ``calls``; with ``wait``, read every pending reply and return these calls'.

        Raises:
            Exception: The first failed check (e.g. ``StaleFenceError``) among these calls,
                else among earlier calls whose replies were read now; redis-py's errors.
        """
        with self._lock:
            self._link.box.calls.extend(calls)
            done: dict[int, Any] = {}

            def exchange() -> None:
                self._flush()
                if wait:
                    self._read_all(done)

            self._retry.call_with_retry(exchange, lambda _err: self._link.drop())
            mine = [done.pop(id(c)) for c in calls] if wait else []
            failed = [v for v in [*mine, *done.values()] if isinstance(v, BaseException)]
            if failed:
                raise failed[0]
            return mine

    def close(self) -> None:
        """Read any unread replies, then close the connection."""
        with self._lock:
            self._finalizer()

    def _flush(self) -> None:
        link = self._link
        if link.conn is None:
            link.conn = link.make()
            link.box.reset()
            link.box.loading = len(self.scripts.sources)
            commands = self.scripts.loads()
        else:
            commands = []
        commands += [c.command for c in link.box.calls[link.box.sent :]]
        if commands:
            packed = link.conn.pack_commands(commands)  # type: ignore[no-untyped-call]
            link.conn.send_packed_command(packed)  # type: ignore[no-untyped-call]
            link.box.sent = len(link.box.calls)

    def _read_all(self, done: dict[int, Any]) -> None:
        link, box = self._link, self._link.box
        assert link.conn is not None
        while box.loading:
            link.conn.read_response()
            box.loading -= 1
        while box.calls:
            try:
                reply: Any = link.conn.read_response()
            except ResponseError as exc:
                reply = exc
            call, value = box.take(reply)
            done[id(call)] = value

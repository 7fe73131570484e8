"""One ordered, pipelined connection per saver: send now, read the replies on the next wait.

LangGraph calls ``put_writes`` and ``put`` separately, from background threads, and under
``durability="sync"`` waits only for ``put`` (for a ``DeltaChannel`` it even waits for the
writes before calling ``put``). Sending the writes' script without reading its reply, then the
checkpoint's script on the same connection, makes one round trip of the two: Redis runs the
commands of one connection in order, so the writes are applied before the checkpoint, and the
``put`` that LangGraph waits for returns only after both replies have been read. Other writes of
the same run (its events, its tape) ride on the same round trip the same way: a call that does
not wait is held until the next one that does, and both go out in one write.

Every call goes through this connection, so a read always sees this saver's earlier writes.
A reply read on a later wait is still checked (a refused write raises there). A connection
error resends everything not yet acknowledged (every script is idempotent) with the client's
retry policy; a new connection first loads the scripts, in the same flight.

On a Redis Cluster there is one such connection per node (``routes``): the keys of one run
share a slot, so its calls stay in order on one connection.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ResponseError

from state.checkpoint.calls import Call, Command, Outbox, Scripts, key_of, pack
from state.checkpoint.routes import Maker, router_for

__all__ = ["Call", "Command", "Outbox", "Scripts", "Wire"]


class _Link:
    """One connection and its outbox (apart from ``Wire`` so a finalizer can drain it)."""

    def __init__(self, make: Maker) -> None:
        self.make = make
        self.conn: AbstractConnection | None = None
        self.box = Outbox()
        self.loads: list[Command] = []  # scripts added since this connection was made

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.disconnect()  # type: ignore[no-untyped-call]
        self.conn = None
        self.box.reset()


def _drain_and_close(links: dict[str, _Link]) -> None:
    """Read what is still unread before the sockets close (so nothing is cut off), quietly."""
    for link in links.values():
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
    links.clear()


class Wire:
    """The saver's connection: ``send`` pipelines calls, ``wait=True`` reads every reply.

    Args:
        client: The saver's ``redis.Redis`` (or ``RedisCluster``); connections are made like
            its pool's ones (address, credentials, TLS, timeouts) and retry with its ``retry``
            policy.
        scripts: The Lua scripts the calls run (``add_scripts`` adds more).
    """

    def __init__(self, client: redis.Redis, scripts: Scripts) -> None:
        self.scripts = Scripts(dict(scripts.sources))
        self._router = router_for(client)
        self._links: dict[str, _Link] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _drain_and_close, self._links)

    def add_scripts(self, scripts: Scripts) -> None:
        """Make ``scripts`` runnable by name on this wire (loaded before the next call)."""
        with self._lock:
            new = self.scripts.add(scripts)
            for link in self._links.values():
                link.loads += self.scripts.loads(new)

    def send(self, calls: Sequence[Call], *, wait: bool = True, flush: bool = False) -> list[Any]:
        """Send ``calls``; with ``wait``, read every pending reply and return these calls'.

        Without ``wait`` the calls are held and go out with the next call that waits (or
        ``flush``es): one write to the socket for all of them, in order. Nothing is held past
        a wait, so a held write is in Redis before any checkpoint that follows it.

        Raises:
            Exception: The first failed check (e.g. ``StaleFenceError``) among these calls,
                else among earlier calls whose replies were read now; redis-py's errors.
        """
        with self._lock:
            for call in calls:
                self._seq += 1
                call.seq = self._seq
                self._enqueue(call)
            if not (wait or flush):
                return []
            done: dict[int, Any] = {}

            def exchange() -> None:
                for link in list(self._links.values()):
                    self._flush(link)
                if wait:
                    for link in list(self._links.values()):
                        self._read_all(link, done)

            self._router.retry.call_with_retry(exchange, lambda _err: self._reroute())
            mine = [done.pop(id(c)) for c in calls] if wait else []
            failed = [v for v in [*mine, *done.values()] if isinstance(v, BaseException)]
            if failed:
                raise failed[0]
            return mine

    def close(self) -> None:
        """Send what is held, read every reply, then close the connections."""
        try:
            if any(link.box.calls for link in self._links.values()):
                self.send([], wait=True)
        except Exception:  # noqa: S110 - closing: the caller is done with this wire
            pass
        with self._lock:
            self._finalizer()

    def _enqueue(self, call: Call) -> None:
        name, make = self._router.route(key_of(call.command))
        link = self._links.get(name)
        if link is None:
            link = self._links[name] = _Link(make)
        link.box.calls.append(call)

    def _reroute(self) -> None:
        """A connection failed (or a slot moved): close them all and send every unacknowledged
        call again, in its first order, to where it belongs now."""
        pending = sorted((c for link in self._links.values() for c in link.box.calls),
                         key=lambda c: c.seq)  # fmt: skip
        for link in self._links.values():
            link.drop()
        self._links.clear()
        self._router.refresh()
        for call in pending:
            self._enqueue(call)

    def _flush(self, link: _Link) -> None:
        box = link.box
        commands: list[Command] = []
        if link.conn is None:
            link.conn = link.make()
            box.reset()
            box.loading = len(self.scripts.sources)
            commands = self.scripts.loads()
            link.loads = []
        elif link.loads:
            box.loading += len(link.loads)
            commands, link.loads = link.loads, []
        commands += [c.command for c in box.calls[box.sent :]]
        if commands:
            link.conn.send_packed_command([pack(commands)])  # type: ignore[no-untyped-call]
            box.sent = len(box.calls)

    def _read_all(self, link: _Link, done: dict[int, Any]) -> None:
        box = link.box
        if link.conn is None:
            return
        while box.loading:
            link.conn.read_response()
            box.loading -= 1
        while box.sent:
            try:
                reply: Any = link.conn.read_response()
            except ResponseError as exc:
                reply = exc
            call, value = box.take(reply)
            done[id(call)] = value

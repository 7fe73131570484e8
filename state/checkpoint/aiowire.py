"""The asyncio twin of ``wire.Wire``: the same ordered, pipelined connection on redis.asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from state.checkpoint.calls import Call, Outbox, Scripts, pack


class AsyncWire:
    """The async saver's connection (see ``wire.Wire`` for why and how).

    Args:
        client: The saver's ``redis.asyncio.Redis``; its pool's connection options and
            ``retry`` policy are used.
        scripts: The Lua scripts the calls run.
    """

    def __init__(self, client: redis.asyncio.Redis, scripts: Scripts) -> None:
        if not hasattr(client, "connection_pool"):
            raise TypeError(
                "AsyncRedisSaver needs a single-server client (RedisSaver runs on a Cluster)"
            )
        pool = client.connection_pool
        kwargs = dict(pool.connection_kwargs)
        self.scripts = scripts
        self._retry: Retry = kwargs.get("retry") or Retry(NoBackoff(), 0)
        self._make: Callable[[], AbstractConnection] = lambda: pool.connection_class(**kwargs)
        self._conn: AbstractConnection | None = None
        self._box = Outbox()
        self._lock: asyncio.Lock | None = None

    async def send(self, calls: Sequence[Call], *, wait: bool = True) -> list[Any]:
        """As ``Wire.send``."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self._box.calls.extend(calls)
            done: dict[int, Any] = {}

            async def exchange() -> None:
                await self._flush()
                if wait:
                    await self._read_all(done)

            await self._retry.call_with_retry(exchange, self._drop)
            mine = [done.pop(id(c)) for c in calls] if wait else []
            failed = [v for v in [*mine, *done.values()] if isinstance(v, BaseException)]
            if failed:
                raise failed[0]
            return mine

    async def aclose(self) -> None:
        """Read any unread replies, then close the connection."""
        if self._conn is not None:
            try:
                await self.send([], wait=True)
            finally:
                await self._conn.disconnect()
                self._conn = None

    async def _drop(self, _error: BaseException | None = None) -> None:
        if self._conn is not None:
            await self._conn.disconnect()
        self._conn = None
        self._box.reset()

    async def _flush(self) -> None:
        box = self._box
        if self._conn is None:
            self._conn = self._make()
            box.reset()
            box.loading = len(self.scripts.sources)
            commands = self.scripts.loads()
        else:
            commands = []
        commands += [c.command for c in box.calls[box.sent :]]
        if commands:
            await self._conn.send_packed_command([pack(commands)])
            box.sent = len(box.calls)

    async def _read_all(self, done: dict[int, Any]) -> None:
        box = self._box
        assert self._conn is not None
        while box.loading:
            await self._conn.read_response()
            box.loading -= 1
        while box.calls:
            try:
                reply: Any = await self._conn.read_response()
            except ResponseError as exc:
                reply = exc
            call, value = box.take(reply)
            done[id(call)] = value

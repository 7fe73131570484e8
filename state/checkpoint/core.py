"""What the sync and async savers share besides plans: scripts, options, write policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langgraph.checkpoint.base import WRITES_IDX_MAP

from state.checkpoint import lua, lua_admin
from state.checkpoint.lists import AppendCache
from state.checkpoint.plans import Writer
from state.checkpoint.wire import Scripts

SCRIPTS = Scripts(
    {
        "put": lua.PUT,
        "put_writes": lua.PUT_WRITES,
        "get": lua.GET,
        "list": lua.LIST,
        "history": lua.HISTORY,
        "delete_thread": lua_admin.DELETE_THREAD,
        "expire": lua_admin.EXPIRE,
        "latest": lua_admin.LATEST,
        "prune": lua_admin.PRUNE,
        "delete_runs": lua_admin.DELETE_RUNS,
        "export": lua_admin.EXPORT,
        "import": lua_admin.IMPORT,
        "storage_keys": lua_admin.STORAGE_KEYS,
    }
)

# how many (thread, namespace) pairs a saver remembers its last put for
_LAST_PUTS = 4096


class TTLConfig(TypedDict, total=False):
    """Retention, shaped like the official ``langgraph-checkpoint-redis`` saver's ``ttl``.

    Attributes:
        default_ttl: Minutes after its last write at which every key of a thread expires;
            each write (``put``, ``put_writes``, copies) sets it again on all of them.
        refresh_on_read: Also refresh it when ``get_tuple`` reads the thread.
    """

    default_ttl: float
    refresh_on_read: bool


def ttl_ms(ttl: TTLConfig | None) -> tuple[int, int]:
    """``(write TTL, read-refresh TTL)`` in milliseconds; 0 means none.

    Raises:
        ValueError: A TTL that is not positive.
    """
    minutes = (ttl or {}).get("default_ttl")
    if minutes is None:
        return 0, 0
    if minutes <= 0:
        raise ValueError(f"default_ttl must be positive minutes, not {minutes!r}")
    write = max(1, round(minutes * 60_000))
    return write, write if (ttl or {}).get("refresh_on_read") else 0


class SaverCore:
    """State and policy common to ``RedisSaver`` and ``AsyncRedisSaver``."""

    def _setup(self, fence_token: int | None, ttl: TTLConfig | None) -> None:
        self.fence_token = fence_token
        self.ttl = ttl
        self._ttl_ms, self._refresh_ms = ttl_ms(ttl)
        self._tails = AppendCache()
        self._last_put: dict[tuple[str, str], str] = {}
        self._parents: dict[tuple[str, str], str] = {}
        self._empty: str | None = None
        self._indexed: set[tuple[str, str]] = set()

    def _writer(self) -> Writer:
        return Writer(SCRIPTS, self.fence_token, self._ttl_ms, self._tails, self._indexed)

    def ran_from(self, thread_id: str, ns: str = "") -> str | None:
        """The parent of the checkpoint this saver stored last for the thread: where the nodes
        of that checkpoint's step ran from (LangGraph reports a step's updates right after
        storing its checkpoint, under ``durability="sync"``), or ``None``."""
        return self._parents.get((thread_id, ns))

    def _known_empty(self, thread_id: str, ns: str, checkpoint_id: str | None) -> bool:
        """Whether the latest root checkpoint of ``thread_id`` is known not to exist (see
        ``with_fence``): ``get_tuple`` then answers ``None`` without a round trip."""
        return self._empty == thread_id and ns == "" and checkpoint_id is None

    def _note_put(
        self, thread_id: str, ns: str, checkpoint_id: str, parent: str | None = None
    ) -> None:
        self._empty = None
        if len(self._last_put) >= _LAST_PUTS:
            self._last_put.clear()
            self._parents.clear()
        self._last_put[(thread_id, ns)] = checkpoint_id
        if parent:
            self._parents[(thread_id, ns)] = parent
        else:
            self._parents.pop((thread_id, ns), None)

    def _may_defer(
        self, thread_id: str, ns: str, checkpoint_id: str, writes: Sequence[Any]
    ) -> bool:
        """Whether ``put_writes`` may leave its reply to the next round trip.

        Only inside a graph run: the writes of a step's tasks go to the checkpoint this saver
        stored last for that thread and namespace, and the step's own ``put`` follows, whose
        wait reads both replies (LangGraph waits for it under ``durability="sync"``). Special
        writes (error, interrupt, resume, scheduled) may end a run, so they always wait.
        """
        return self._last_put.get((thread_id, ns)) == checkpoint_id and not any(
            channel in WRITES_IDX_MAP for channel, _ in writes
        )

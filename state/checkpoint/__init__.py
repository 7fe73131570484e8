"""Waybill's LangGraph checkpointer on plain Redis (>= 6.2) and Valkey.

``RedisSaver`` (sync) and ``AsyncRedisSaver`` (asyncio) store checkpoints in strings, hashes
and sorted sets, do every operation in one Lua script on one thread's keys (Cluster-ready hash
tags) sent on one pipelined connection, store each channel value once per version (an
append-only list once per element), deserialize strictly, expire threads (``TTLConfig``,
``expire_thread``), and can be fenced by a run lease's token. See ``layout`` for the keys.
"""

from state.checkpoint.aio import AsyncRedisSaver
from state.checkpoint.core import TTLConfig
from state.checkpoint.errors import (
    CheckpointerError,
    DamagedCheckpointError,
    StaleFenceError,
    UnsafeCheckpointDataError,
)
from state.checkpoint.saver import RedisSaver
from state.checkpoint.serde import StrictSerializer

__all__ = [
    "AsyncRedisSaver",
    "CheckpointerError",
    "DamagedCheckpointError",
    "RedisSaver",
    "StaleFenceError",
    "StrictSerializer",
    "TTLConfig",
    "UnsafeCheckpointDataError",
]

"""Waybill's LangGraph checkpointer on plain Redis (>= 6.2) and Valkey.

``RedisSaver`` (sync) and ``AsyncRedisSaver`` (asyncio) store checkpoints in strings, hashes
and sorted sets, write through atomic Lua scripts on one thread's keys (Cluster-ready hash
tags), store each channel value once per version, deserialize strictly, and can be fenced by
a run lease's token. See ``layout`` for the key layout.
"""

from state.checkpoint.aio import AsyncRedisSaver
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
    "UnsafeCheckpointDataError",
]

"""Redis clients for the checkpointer, with retries on connection errors and timeouts."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry

from state.cluster import for_url

# Exponential backoff from 50 ms, capped at 2 s per wait, 8 retries (~8 s in all): rides out
# a Redis restart or failover, then fails the call so the run can record why it stopped.
RETRIES = 8
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S)


def _options(retry: Retry | AsyncRetry, overrides: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "retry": retry,
        "retry_on_error": [ConnectionError, TimeoutError],
        "socket_timeout": 10.0,
        "socket_connect_timeout": 5.0,
        "health_check_interval": 30,
    }
    options.update(overrides)
    return options


def sync_client(url: str, **overrides: Any) -> redis.Redis:
    """A ``redis.Redis`` for ``url`` that retries with exponential backoff.

    Retrying is safe for the checkpointer because every write it sends is idempotent. A node
    of a Redis Cluster gets a ``RedisCluster`` client (``state.cluster``).

    Args:
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        **overrides: Extra ``redis.Redis`` options; they win over the defaults here.
    """
    options = _options(Retry(_backoff(), RETRIES), overrides)
    return for_url(redis.Redis.from_url(url, **options), url, **options)


def async_client(url: str, **overrides: Any) -> redis.asyncio.Redis:
    """A ``redis.asyncio.Redis`` for ``url`` that retries with exponential backoff.

    Args:
        url: As for ``sync_client``.
        **overrides: Extra ``redis.asyncio.Redis`` options; they win over the defaults here.
    """
    options = _options(AsyncRetry(_backoff(), RETRIES), overrides)
    return redis.asyncio.Redis.from_url(url, **options)

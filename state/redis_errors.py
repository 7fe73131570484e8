"""Redis's own errors that mean "not now": a light module (only ``redis``), so the command line
can catch them without loading the control plane."""

from __future__ import annotations

import redis

REDIS_OUTAGE_ERRORS = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)
"""Unreachable, too slow, or a Redis Cluster whose slots wait for a failover (``CLUSTERDOWN``)
or a moving slot (``TRYAGAIN``): a retry later may succeed."""

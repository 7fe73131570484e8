"""Redis Cluster: a URL that names a node of a cluster gets a ``RedisCluster`` client.

Every key of a run carries the run's hash tag (``state.keys``), every script and transaction
touches one slot, and global indexes are written with plain commands, so the same code runs on
one server and on a cluster; redis-py's ``RedisCluster`` routes each command to the node owning
its slot. A cluster is recognised by asking the server (``INFO cluster``), so ``REDIS_URL`` is
just the address of any node.

``RedisCluster`` speaks the same command API as ``redis.Redis`` for single-slot commands; the
clients made here are typed ``redis.Redis`` so the stores keep one type, and the few places
that must know (the checkpointer's connections) check ``isinstance(client, RedisCluster)``.
"""

from __future__ import annotations

from typing import Any, cast

import redis
from redis.cluster import RedisCluster


def clustered(client: redis.Redis) -> bool:
    """Whether ``client`` is a ``RedisCluster`` (no round trip)."""
    return isinstance(client, RedisCluster)


def is_cluster(client: redis.Redis) -> bool:
    """Whether the server behind ``client`` is a node of a Redis Cluster (one round trip)."""
    if isinstance(client, RedisCluster):
        return True
    info: dict[str, Any] = client.info("cluster")
    return bool(int(info.get("cluster_enabled", 0)))


def cluster_client(url: str, **options: Any) -> redis.Redis:
    """A ``RedisCluster`` for the cluster that ``url``'s node belongs to (see the module)."""
    for unsupported in ("health_check_interval", "single_connection_client"):
        options.pop(unsupported, None)
    return cast(redis.Redis, RedisCluster.from_url(url, **options))


def for_url(client: redis.Redis, url: str, **options: Any) -> redis.Redis:
    """``client`` itself on a single server; on a cluster node, a cluster client with the same
    ``options`` (and ``client`` closed). A server that does not answer now is taken for a
    single one (the client connects when it is used, as it would have)."""
    try:
        clustered = is_cluster(client)
    except (redis.ConnectionError, redis.TimeoutError):
        return client
    if not clustered:
        return client
    client.close()
    return cluster_client(url, **options)

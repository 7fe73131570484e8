"""Where a wire sends a command: the one server of a plain client, or, on a Redis Cluster, the
node that owns the slot of the command's key.

A run's keys share one hash tag, so every command about one run goes to one node, in order;
global keys (an index) may live on another node and go there on a connection of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.connection import AbstractConnection
from redis.retry import Retry

Maker = Callable[[], AbstractConnection]


def _maker(pool: Any) -> Maker:
    # No health check: its PING would read the reply of a call sent before it and not read
    # yet (the wire pipelines), take that for a broken connection, and make the wire send
    # again writes that other processes may have overtaken since (a killed run listed as
    # waiting again). A connection that is really gone fails the next exchange all the same.
    kwargs = dict(pool.connection_kwargs, health_check_interval=0)
    connection_class = pool.connection_class

    def make() -> AbstractConnection:
        conn: AbstractConnection = connection_class(**kwargs)
        return conn

    return make


class Router:
    """One server: every command goes to the client's own address."""

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        self.retry: Retry = pool.connection_kwargs.get("retry") or Retry(NoBackoff(), 0)
        self._make = _maker(pool)

    def route(self, key: Any) -> tuple[str, Maker]:
        """The name of the link for ``key`` and how to connect it."""
        return "", self._make

    def refresh(self) -> None:
        """Nothing to learn again on a single server."""


class ClusterRouter(Router):
    """A Redis Cluster: a command goes to the primary that owns its key's slot."""

    def __init__(self, client: RedisCluster) -> None:
        self._cluster = client
        self.retry = client.retry

    def route(self, key: Any) -> tuple[str, Maker]:
        """The node owning ``key``'s slot (any primary for a command without a key)."""
        if key is None:
            node = self._cluster.get_default_node()  # type: ignore[no-untyped-call]
        else:
            node = self._cluster.get_node_from_key(key)  # type: ignore[no-untyped-call]
        assert node is not None
        assert node.redis_connection is not None
        return str(node.name), _maker(node.redis_connection.connection_pool)

    def refresh(self) -> None:
        """Read the cluster's slot map again (after a MOVED or a lost node)."""
        self._cluster.nodes_manager.initialize()


def router_for(client: redis.Redis) -> Router:
    """The router for a client (a ``RedisCluster`` arrives typed as ``redis.Redis``)."""
    if isinstance(client, RedisCluster):
        return ClusterRouter(client)
    return Router(client)

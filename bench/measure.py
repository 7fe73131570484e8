"""Measuring helpers for the runtime benchmark: CPU of a process tree, Redis's command counts,
clients that count their round trips, medians."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

import redis

from console.launch import descendants
from tests.integration.checkpoint_helpers.growth import CountingConnection as CountingConnection

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_of_tree(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and every live process below it,
    including their children that already exited and were reaped."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[11..14]: utime, stime, cutime, cstime (clock ticks), after the state field
        total += sum(int(f) for f in fields[11:15]) / _TICK
    return total


def server_cpu(client: redis.Redis) -> float:
    """CPU seconds the Redis server used so far (``INFO cpu``)."""
    info: dict[str, Any] = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def commands(client: redis.Redis) -> int:
    """Commands the server executed so far, scripts' inner commands included
    (``INFO commandstats``), leaving out ``INFO`` itself."""
    stats: dict[str, Any] = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def median(values: list[float]) -> float:
    """The median."""
    return float(statistics.median(values))


def counting(url: str, *, decode: bool) -> redis.Redis:
    """A client whose connections count their round trips in ``CountingConnection``."""
    pool = redis.ConnectionPool.from_url(
        url, connection_class=CountingConnection, decode_responses=decode
    )
    return redis.Redis(connection_pool=pool)

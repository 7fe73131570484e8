"""The hard stop's watch says a Redis outage once, also when only some of its runs fail (a
Redis Cluster with one node down: the runs on the other nodes still answer)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
import redis

from graph.runtime.hardstop import Watched, Watchman
from state.control.killcache import KillCache


@dataclass
class _Timing:
    lease_ttl_s: float = 0.03  # renewed every round
    kill_grace_s: float = 60.0


class _Leases:
    def renew(self, run_id: str, token: int, ttl: float) -> None:
        if run_id.startswith("down"):
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:7102.")


class _Client:
    def zadd(self, key: str, mapping: dict[str, float]) -> int:
        return 1


@dataclass
class _Plane:
    leases: _Leases = field(default_factory=_Leases)
    client: _Client = field(default_factory=_Client)


@dataclass
class _Executor:
    cp: Any = field(default_factory=_Plane)
    config: _Timing = field(default_factory=_Timing)

    def kill_reason(self, run_id: str, workflow: str, stage: str | None) -> str | None:
        return None

    def finish_killed(self, run_id: str, reason: str, token: int | None) -> None:
        raise AssertionError("nothing is killed here")


class _Kills:
    version = 0

    def wait(self, version: int, timeout: float) -> int:
        time.sleep(0.01)
        return version


def test_a_node_down_under_some_runs_is_one_line_not_a_flapping_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchman = Watchman(cast(Watched, _Executor()), cast(KillCache, _Kills()))
    runs = [watchman.watch(run_id, "wf", 1) for run_id in ("up-1", "down-1", "up-2")]
    with caplog.at_level(logging.WARNING, logger="graph.runtime.hardstop"):
        for run in runs:
            run.renewed = 0.0
            run.start()
        time.sleep(0.5)
        watchman.stop()
        time.sleep(0.1)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "watching runs: Redis is unavailable (Error 111 connecting to 127.0.0.1:7102.); retrying"
    ]

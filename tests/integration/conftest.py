"""Integration fixtures: real servers, started by the tests, never a mock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.runtime.executor import RunExecutor
from state.control.connection import connect
from state.control.plane import ControlPlane
from tests.integration.runtime import Executors
from tests.redis_servers import ServerUnderTest, require_redis7

SERVER_KINDS = ["valkey", "redis7"]


def _start(kind: str, data_dir: Path) -> ServerUnderTest:
    if kind == "redis7":
        require_redis7()
    server = ServerUnderTest(kind, data_dir)
    server.start()
    return server


@pytest.fixture(scope="session", params=SERVER_KINDS)
def shared_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerUnderTest]:
    """One server of each kind for the session; tests use their own key prefixes/run ids."""
    server = _start(request.param, tmp_path_factory.mktemp(f"srv-{request.param}"))
    yield server
    server.stop()


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerUnderTest]:
    """A fresh embedded Valkey of the test's own (it may restart or stop it)."""
    kind = getattr(request, "param", "valkey")
    srv = _start(kind, tmp_path / f"srv-{kind}")
    yield srv
    srv.stop()


@pytest.fixture
def executors() -> Iterator[Executors]:
    """``RunExecutor``s closed after the test: each follows the kill switches in a thread of
    its own, which would otherwise outlive the test's Redis, retrying it (and logging) for the
    rest of the session."""
    made: list[RunExecutor] = []

    def make(*args: Any, **kwargs: Any) -> RunExecutor:
        made.append(RunExecutor(*args, **kwargs))
        return made[-1]

    yield make
    for executor in made:
        executor.close()


@pytest.fixture
def redis_url(shared_server: ServerUnderTest) -> str:
    return shared_server.url


@pytest.fixture
def cp(redis_url: str) -> Iterator[ControlPlane]:
    """A control plane on the session's server (one per server kind)."""
    plane = ControlPlane(connect(redis_url))
    yield plane
    plane.close()

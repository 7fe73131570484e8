"""Kill switches against real servers: scopes, precedence, nudges, durability across restarts.

The global switch would stop other tests' runs, so these tests use a server of their own.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from state.control.connection import connect
from state.control.killcache import KillCache
from state.control.kills import KillSwitches, switch_key
from state.control.models import KillNudge
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration

BOTH = pytest.mark.parametrize("server", ["valkey", "redis7"], indirect=True)


@BOTH
def test_trip_check_clear_with_precedence(server: ServerUnderTest) -> None:
    kills = KillSwitches(connect(server.url))
    assert kills.check(run_id="r1", workflow="procurement", agent="buyer") is None

    kills.trip("run", "r1", reason="looping", user="ana")
    assert kills.check(run_id="r2", workflow="procurement") is None
    hit = kills.check(run_id="r1", workflow="procurement", agent="buyer")
    assert hit is not None
    assert (hit.scope, hit.target, hit.reason, hit.user) == ("run", "r1", "looping", "ana")

    kills.trip("agent", "buyer", reason="bad prompt", user="bo")
    kills.trip("workflow", "procurement", reason="supplier down", user="cy")
    hit = kills.check(run_id="r1", workflow="procurement", agent="buyer")
    assert hit is not None
    assert hit.scope == "workflow"
    kills.trip("global", reason="incident", user="ops")
    hit = kills.check(run_id="zz", workflow="other", agent="x")
    assert hit is not None
    assert (hit.scope, hit.target) == ("global", "*")

    assert [(s.scope, s.target) for s in kills.list()] == [
        ("run", "r1"),
        ("agent", "buyer"),
        ("workflow", "procurement"),
        ("global", "*"),
    ]
    assert kills.clear("global") is True
    assert kills.clear("global") is False
    hit = kills.check(run_id="r1", agent="buyer")
    assert hit is not None
    assert hit.scope == "agent"
    assert kills.clear("agent", "buyer")
    assert kills.clear("workflow", "procurement")
    assert kills.clear("run", "r1")
    assert kills.list() == []
    assert kills.check(run_id="r1", workflow="procurement", agent="buyer") is None


def test_bad_scope_or_missing_target(server: ServerUnderTest) -> None:
    kills = KillSwitches(connect(server.url))
    with pytest.raises(ValueError, match="needs a target"):
        kills.trip("run", None, reason="x", user="y")
    with pytest.raises(ValueError, match="unknown kill-switch scope"):
        kills.trip("planet", "earth", reason="x", user="y")  # type: ignore[arg-type]


def test_nudges_reach_subscribers(server: ServerUnderTest) -> None:
    kills = KillSwitches(connect(server.url))
    with kills.subscribe() as watcher:
        assert watcher.get(timeout=0.1) is None
        kills.trip("workflow", "procurement", reason="x", user="y")
        assert watcher.get(timeout=2) == KillNudge(
            event="tripped", scope="workflow", target="procurement"
        )
        kills.clear("workflow", "procurement")
        assert watcher.get(timeout=2) == KillNudge(
            event="cleared", scope="workflow", target="procurement"
        )


@BOTH
def test_tripped_switch_survives_a_restart(server: ServerUnderTest) -> None:
    client = connect(server.url)
    KillSwitches(client).trip("agent", "buyer", reason="bad prompt", user="ana")
    KillSwitches(client).trip("global", reason="incident", user="ops")
    client.close()

    server.restart()

    kills = KillSwitches(connect(server.url))
    hit = kills.check(agent="buyer")
    assert hit is not None
    assert (hit.scope, hit.reason) == ("global", "incident")
    kills.clear("global")
    hit = kills.check(agent="buyer")
    assert hit is not None
    assert (hit.scope, hit.target, hit.user) == ("agent", "buyer", "ana")
    assert len(kills.list()) == 1


def test_client_rides_out_a_restart(server: ServerUnderTest) -> None:
    """The same client keeps working after the server restarts (retry with backoff)."""
    kills = KillSwitches(connect(server.url))  # default retries ride out a restart
    kills.trip("run", "r1", reason="x", user="y")
    server.restart()
    assert kills.check(run_id="r1") is not None


def test_kill_cache_closes_quietly_before_its_client(
    server: ServerUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """Closing the cache, then its client, as a CLI run's executor does on its way out: the
    reading thread has ended when ``close`` returns, and nothing is logged (it once printed a
    traceback of its read on the closed connection)."""
    client = connect(server.url)
    cache = KillCache(client, poll_s=5.0)
    before = set(threading.enumerate())
    cache.start()
    [reader] = [t for t in threading.enumerate() if t not in before and t.name == "kill-cache"]
    KillSwitches(client).trip("run", "closing-quietly", reason="test", user="test")
    deadline = time.monotonic() + 5
    while cache.check(run_id="closing-quietly") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.check(run_id="closing-quietly") is not None
    with caplog.at_level(logging.DEBUG, logger="state.control.killcache"):
        cache.close()
        client.close()
        time.sleep(0.6)  # a thread still reading would fail on the closed connection by now
    # Only this cache's thread: caches other tests left behind log about their stopped servers.
    assert [r.getMessage() for r in caplog.records if r.thread == reader.ident] == []
    assert not reader.is_alive()


def test_a_switch_the_cache_still_holds_is_confirmed_before_it_stops_a_run(
    server: ServerUnderTest,
) -> None:
    """A run queued by the clear of its hold (or started right after an unkill) reached its
    worker before the cache's nudge did and was held again, for good. ``confirmed`` asks Redis
    when the cache finds a switch: cleared without a nudge here (the nudge not arrived yet)."""
    client = connect(server.url)
    cache = KillCache(client, poll_s=30.0)
    cache.start()
    kills = KillSwitches(client)
    kills.trip("workflow", "slow", reason="deploy", user="ana", kind="hold")
    deadline = time.monotonic() + 5
    while cache.check(workflow="slow", kind="hold") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.confirmed(workflow="slow", kind="hold") is not None
    client.delete(switch_key("workflow", "slow", "hold"))  # cleared; the nudge still on its way
    assert cache.check(workflow="slow", kind="hold") is not None  # the cache lags
    assert cache.confirmed(workflow="slow", kind="hold") is None
    assert cache.confirmed(workflow="other", kind="hold") is None
    cache.close()
    client.close()

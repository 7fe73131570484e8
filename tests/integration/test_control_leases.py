"""Leases with fencing against real servers: a stale holder's writes are refused."""

from __future__ import annotations

import time
import uuid

import pytest

from state.control.errors import LeaseHeld, LeaseLost
from state.control.plane import ControlPlane
from state.keys import fence_key, run_key

pytestmark = pytest.mark.integration


def new_run(cp: ControlPlane) -> str:
    run_id = f"lease-{uuid.uuid4().hex[:10]}"
    cp.runs.create(run_id, "procurement")
    return run_id


def test_acquire_renew_release(cp: ControlPlane) -> None:
    run_id = new_run(cp)
    token = cp.leases.acquire(run_id, "worker-a", ttl=5)
    assert int(cp.client.get(fence_key(run_id)) or 0) == token
    lease = cp.leases.current(run_id)
    assert lease is not None
    assert (lease.holder, lease.token) == ("worker-a", token)
    assert 0 < lease.ttl_ms <= 5000
    with pytest.raises(LeaseHeld, match="worker-a"):
        cp.leases.acquire(run_id, "worker-b", ttl=5)
    cp.leases.renew(run_id, token, ttl=10)
    lease = cp.leases.current(run_id)
    assert lease is not None
    assert lease.ttl_ms > 5000
    assert cp.leases.release(run_id, token) is True
    assert cp.leases.current(run_id) is None
    assert cp.leases.release(run_id, token) is False  # released tokens are stale
    with pytest.raises(LeaseLost):
        cp.leases.check(run_id, token)
    token_b = cp.leases.acquire(run_id, "worker-b", ttl=5)
    assert token_b > token


def test_stale_holder_is_refused_after_takeover(cp: ControlPlane) -> None:
    run_id = new_run(cp)
    old = cp.leases.acquire(run_id, "worker-a", ttl=0.1)
    cp.runs.update(run_id, status="running", worker="worker-a", fence=old)
    time.sleep(0.2)  # worker-a is frozen past its TTL
    with pytest.raises(LeaseLost, match="lost"):
        cp.leases.renew(run_id, old, ttl=5)  # expired: worker-a must stop
    new = cp.leases.acquire(run_id, "worker-b", ttl=5)
    cp.runs.update(run_id, stage="quote", worker="worker-b", fence=new)

    with pytest.raises(LeaseLost, match=f"token {old} is stale"):
        cp.runs.update(run_id, status="succeeded", worker="worker-a", fence=old)
    with pytest.raises(LeaseLost):
        cp.leases.renew(run_id, old, ttl=5)
    with pytest.raises(LeaseLost):
        cp.leases.guarded(run_id, old, [("HSET", run_key(run_id, "scratch"), "f", "old")])
    assert cp.leases.release(run_id, old) is False

    run = cp.runs.get(run_id)
    assert (run.status, run.stage, run.worker) == ("running", "quote", "worker-b")
    assert cp.client.hget(run_key(run_id, "scratch"), "f") is None
    replies = cp.leases.guarded(
        run_id,
        new,
        [("HSET", run_key(run_id, "scratch"), "f", "new"), ("GET", run_key(run_id, "scratch2"))],
    )
    assert replies == [1, None]
    assert cp.client.hget(run_key(run_id, "scratch"), "f") == "new"


def test_same_holder_reacquires_with_a_new_token(cp: ControlPlane) -> None:
    run_id = new_run(cp)
    first = cp.leases.acquire(run_id, "worker-a", ttl=5)
    second = cp.leases.acquire(run_id, "worker-a", ttl=5)
    assert second > first
    with pytest.raises(LeaseLost):
        cp.runs.update(run_id, status="running", fence=first)
    cp.runs.update(run_id, status="running", fence=second)


def test_guarded_refuses_keys_of_other_runs(cp: ControlPlane) -> None:
    run_id = new_run(cp)
    token = cp.leases.acquire(run_id, "worker-a", ttl=5)
    with pytest.raises(ValueError, match="not a key of run"):
        cp.leases.guarded(run_id, token, [("SET", run_key("other-run", "x"), "1")])

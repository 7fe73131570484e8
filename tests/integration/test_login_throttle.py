"""The login throttle under concurrency, on real servers: parallel attempts get no extra checks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import redis

from state.control.connection import connect
from state.control.throttle import LoginThrottle, throttle_key
from state.control.users import LoginResult, ScryptParams, User, UserStore

PARALLEL = 40
PASSWORD = "correct-horse"


class CountingStore(UserStore):
    """A user store that counts how many passwords it really checked."""

    def __init__(self, client: redis.Redis, *, params: ScryptParams, free_attempts: int) -> None:
        super().__init__(client, params=params, free_attempts=free_attempts)
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, name: str, password: str) -> User | None:
        with self._lock:
            self.checked += 1
        return super().verify(name, password)


def _in_parallel(attempt: Callable[[int], LoginResult]) -> list[LoginResult]:
    start = threading.Barrier(PARALLEL)
    results: list[LoginResult] = []

    def one(i: int) -> None:
        start.wait()
        results.append(attempt(i))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == PARALLEL
    return results


def _store(redis_url: str) -> CountingStore:
    return CountingStore(connect(redis_url), params=ScryptParams(n=2**10), free_attempts=3)


def test_parallel_wrong_passwords_for_one_user_get_at_most_the_allowance(redis_url: str) -> None:
    store = _store(redis_url)
    name = f"u{uuid.uuid4().hex[:10]}"
    store.add(name, "approver", PASSWORD)
    # Each attempt from its own address, so only the per-user allowance (3) applies.
    results = _in_parallel(lambda i: store.login(name, "wrong-password", f"10.1.0.{i}"))
    assert store.checked == 3
    assert sum(not r.throttled for r in results) == 3
    assert all(r.user is None for r in results)
    refused = store.login(name, PASSWORD, "10.1.1.1")  # even the right password waits now
    assert refused.throttled
    assert store.checked == 3


def test_parallel_attempts_from_one_address_get_at_most_its_allowance(redis_url: str) -> None:
    store = _store(redis_url)
    address = f"10.2.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    tag = uuid.uuid4().hex[:8]
    # A different name per attempt: only the address's allowance (3 x 3 = 9) applies.
    results = _in_parallel(lambda i: store.login(f"n{tag}{i}", "wrong-password", address))
    assert store.checked == 9
    assert sum(not r.throttled for r in results) == 9


def test_a_success_clears_the_name_and_returns_the_address_its_attempt(redis_url: str) -> None:
    store = _store(redis_url)
    name = f"u{uuid.uuid4().hex[:10]}"
    address = f"10.3.0.{uuid.uuid4().int % 250}"
    store.add(name, "viewer", PASSWORD)
    assert store.login(name, "wrong-password", address).retry_after_s == 0.0
    assert store.login(name, PASSWORD, address).user is not None
    assert store.retry_after(name) == 0.0
    client = connect(redis_url)
    assert client.exists(throttle_key("user", name.lower())) == 0
    assert client.hget(throttle_key("ip", address), "count") == "1"  # the failure stays


def test_invented_names_share_one_counter(redis_url: str) -> None:
    store = _store(redis_url)
    for i in range(3):
        store.login("<" + "x" * 500 + str(i), "wrong-password")
    assert store.login("<another invented name>", "wrong-password").throttled


def test_failed_login_audit_is_rate_limited(redis_url: str) -> None:
    client = connect(redis_url)
    client.delete("wb:{auth}:audit:failures")
    throttle = LoginThrottle(client, audit_per_minute=5)
    verdicts = [throttle.audit_failure() for _ in range(9)]
    assert verdicts == ["entry"] * 5 + ["pause"] + ["skip"] * 3
    assert 0 < client.ttl("wb:{auth}:audit:failures") <= 60

"""Audit hash chain against real servers: concurrent appends, filters, and every tampering.

Tampering tests rewrite the log directly, so they use a server of their own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
import redis

from state.control.audit import AUDIT_KEY, GENESIS, AuditLog, entry_hash
from state.control.connection import connect
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration

N = 10


def fill(log: AuditLog, n: int = N) -> None:
    for i in range(1, n + 1):
        log.append(f"user{i % 3}", "decide" if i % 2 else "kill", f"run-{i}", {"i": i})


def raw(r: redis.Redis, seq: int) -> dict[str, object]:
    return dict(json.loads(str(r.hget(AUDIT_KEY, str(seq)))))


def put(r: redis.Redis, seq: int, entry: dict[str, object]) -> None:
    r.hset(AUDIT_KEY, str(seq), json.dumps(entry))


def edit(r: redis.Redis) -> None:
    entry = raw(r, 4)
    entry["details"] = {"i": 999}
    put(r, 4, entry)


def edit_and_rehash(r: redis.Redis) -> None:
    entry = raw(r, 4)
    entry["actor"] = "mallory"
    entry["hash"] = entry_hash(entry)
    put(r, 4, entry)


def insert(r: redis.Redis) -> None:
    """A forged entry at 4 that links correctly to 3; the old 4..N shift up by one."""
    for seq in range(N, 3, -1):
        put(r, seq + 1, raw(r, seq))
    forged = dict(raw(r, 3))
    forged.update(seq=4, actor="mallory", prev_hash=raw(r, 3)["hash"])
    forged["hash"] = entry_hash(forged)
    put(r, 4, forged)
    r.hset(AUDIT_KEY, "head", json.dumps({"seq": N + 1, "hash": raw(r, N + 1)["hash"]}))


def append_behind_head(r: redis.Redis) -> None:
    entry = dict(raw(r, N))
    entry.update(seq=N + 1, prev_hash=entry["hash"])
    entry["hash"] = entry_hash(entry)
    put(r, N + 1, entry)


def delete(r: redis.Redis) -> None:
    r.hdel(AUDIT_KEY, "4")


def delete_and_shift(r: redis.Redis) -> None:
    for seq in range(4, N):
        put(r, seq, raw(r, seq + 1))
    r.hdel(AUDIT_KEY, str(N))
    r.hset(AUDIT_KEY, "head", json.dumps({"seq": N - 1, "hash": raw(r, N - 1)["hash"]}))


def reorder(r: redis.Redis) -> None:
    a, b = raw(r, 4), raw(r, 7)
    put(r, 4, b)
    put(r, 7, a)


def truncate(r: redis.Redis) -> None:
    r.hdel(AUDIT_KEY, str(N - 1), str(N))


def rewind_head(r: redis.Redis) -> None:
    """Truncation that also moves the head back, but keeps the old head's hash."""
    r.hdel(AUDIT_KEY, str(N))
    head = json.loads(str(r.hget(AUDIT_KEY, "head")))
    r.hset(AUDIT_KEY, "head", json.dumps({"seq": N - 1, "hash": head["hash"]}))


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        (edit, 4, "edited"),
        (edit_and_rehash, 5, "does not link"),
        (insert, 5, "holds entry 4"),
        (append_behind_head, N + 1, "beyond the head"),
        (delete, 4, "missing"),
        (delete_and_shift, 4, "holds entry 5"),
        (reorder, 4, "holds entry 7"),
        (truncate, N - 1, "missing"),
        (rewind_head, N - 1, "head does not point"),
    ],
)
def test_verify_catches_tampering(
    server: ServerUnderTest,
    tamper: Callable[[redis.Redis], None],
    first_bad: int,
    words: str,
) -> None:
    client = connect(server.url)
    log = AuditLog(client)
    fill(log)
    assert log.verify().ok
    tamper(client)
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == first_bad
    assert result.problem is not None
    assert words in result.problem


@pytest.mark.parametrize("server", ["valkey", "redis7"], indirect=True)
def test_concurrent_appenders_never_fork_the_chain(server: ServerUnderTest) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def appender(i: int) -> None:
        log = AuditLog(connect(server.url))
        try:
            barrier.wait()
            for j in range(15):
                log.append(f"user{i}", "approve", f"esc-{i}-{j}", {"j": j})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    log = AuditLog(connect(server.url))
    result = log.verify()
    assert result.ok, result.problem
    assert result.head_seq == result.checked == 120
    assert [e.seq for e in log.list(limit=200)] == list(range(120, 0, -1))


def test_entries_list_filters_and_paging(server: ServerUnderTest) -> None:
    log = AuditLog(connect(server.url))
    assert log.verify().ok  # empty log
    assert log.head() == (0, GENESIS)
    fill(log, 30)
    first = log.list(limit=1)[0]
    assert first.seq == 30
    assert first.prev_hash == log.list(offset=1, limit=1)[0].hash
    assert log.head() == (30, first.hash)
    assert [e.seq for e in log.list(offset=5, limit=3)] == [25, 24, 23]

    by_actor = log.list(actor="user1", limit=100)
    assert [e.seq for e in by_actor] == [s for s in range(30, 0, -1) if s % 3 == 1]
    kills = log.list(action="kill", actor="user0", limit=100)
    assert [e.seq for e in kills] == [s for s in range(30, 0, -1) if s % 2 == 0 and s % 3 == 0]
    assert [e.seq for e in log.list(action="kill", offset=2, limit=2, batch=4)] == [26, 24]
    assert [e.details for e in log.list(target="run-7")] == [{"i": 7}]
    assert log.list(actor="nobody") == []

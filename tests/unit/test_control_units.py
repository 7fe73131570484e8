"""Pure pieces of the control plane (no Redis): URL masking, lifecycle rules, hashing, keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from state.control.audit import GENESIS, canonical, entry_hash
from state.control.connection import mask_url, text
from state.control.errors import EscalationConflict, LeaseLost, RunFinished, UnknownRun
from state.control.kills import switch_key
from state.control.models import from_epoch, to_epoch
from state.control.run_index import index_key
from state.control.runs import run_hash_key
from state.status import RUN_STATUSES, TERMINAL_STATUSES, TRANSITIONS


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:1/0", "redis://:***@host:1/0"),
        ("rediss://user:p%40ss:w@host/2", "rediss://user:***@host/2"),
        ("redis://user@host", "redis://user@host"),
        ("redis://host/0?password=x&db=1", "redis://host/0?password=***&db=1"),
        ("unix:///tmp/r.sock?password=x", "unix:///tmp/r.sock?password=***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_terminal_statuses_are_final_and_every_status_has_rules() -> None:
    assert set(TRANSITIONS) == set(RUN_STATUSES)
    for status in TERMINAL_STATUSES:
        assert TRANSITIONS[status] == frozenset()
    for status in set(RUN_STATUSES) - TERMINAL_STATUSES:
        assert "killed" in TRANSITIONS[status]
        assert status in TRANSITIONS[status]  # same-status updates (stage, worker) are fine
    assert "succeeded" not in TRANSITIONS["queued"]


def test_entry_hash_is_canonical_and_covers_every_field() -> None:
    entry = {"seq": 1, "ts": "t", "actor": "a", "action": "x", "target": "r", "details": {}}
    entry["prev_hash"] = GENESIS
    reordered = dict(reversed(list(entry.items())))
    assert entry_hash(entry) == entry_hash(reordered)
    assert entry_hash(entry) == entry_hash({**entry, "hash": "ignored"})
    for field, value in [("seq", 2), ("actor", "b"), ("details", {"k": 1}), ("prev_hash", "1")]:
        assert entry_hash({**entry, field: value}) != entry_hash(entry)
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    with pytest.raises(ValueError, match="JSON"):
        canonical({"x": float("nan")})


def test_keys_stay_inside_the_run_tag_and_never_collide() -> None:
    assert run_hash_key("a:b") == "wb:{a%3Ab}:run"
    assert run_hash_key("a}b") != run_hash_key("a:b")
    assert index_key() == "wb:idx:runs"
    assert index_key(workflow="w:x", status="queued") == "wb:idx:runs:workflow:w%3Ax:status:queued"
    assert index_key(workflow="status") != index_key(status="status")
    assert switch_key("global") == switch_key("global", "ignored") == "wb:kill:global:*"
    assert switch_key("run", "r:1") == "wb:kill:run:r%3A1"
    with pytest.raises(ValueError, match="needs a target"):
        switch_key("agent", "")


def test_errors_read_as_one_line() -> None:
    messages = [
        str(UnknownRun("r1")),
        str(RunFinished("r1", "killed")),
        str(EscalationConflict("e1", "ana", "approve", "2030-01-01T00:00:00+00:00")),
        str(LeaseLost("r1", 3, 4)),
    ]
    assert messages[0] == "unknown run 'r1'"
    assert "already killed" in messages[1]
    assert "by 'ana'" in messages[2]
    assert "2030-01-01" in messages[2]
    assert "token 3 is stale (current is 4)" in messages[3]
    assert all("\n" not in m for m in messages)


def test_epoch_round_trip() -> None:
    now = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert from_epoch(repr(to_epoch(now))) == now
    assert from_epoch(to_epoch(now.replace(tzinfo=None))) == now
    assert text(b"x") == text("x") == "x"
    assert text(None) == ""

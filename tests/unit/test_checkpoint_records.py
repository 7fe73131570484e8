"""Pure encoding: versions, compact records, what a put stores, writes framing and order."""

from __future__ import annotations

import random

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT

from state.checkpoint import StrictSerializer
from state.checkpoint.codec import WriteEntry, decode_writes, encode_write
from state.checkpoint.records import (
    Blobs,
    decode_record,
    encode_put,
    encode_writes,
    next_version,
)

SERDE = StrictSerializer()
CONFIG: RunnableConfig = {
    "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "p"}
}


def test_versions_are_short_increase_and_differ_between_branches() -> None:
    first = next_version(None)
    second = next_version(first)
    assert first < second
    assert len(second) == 19
    assert second.startswith("00000002.")
    assert next_version(first) != next_version(first)  # two forks from one parent
    assert next_version(7).startswith("00000008.")
    assert next_version(next_version("0000000f.abc")).startswith("00000011.")


def test_versions_leave_the_global_random_alone() -> None:
    """An application that seeds ``random`` for reproducible runs gets the same numbers whatever
    the checkpointer saved in between (versions drew from the global generator)."""
    random.seed(1234)
    expected = [random.random() for _ in range(3)]
    random.seed(1234)
    versions = {next_version(None) for _ in range(100)}
    assert [random.random() for _ in range(3)] == expected
    assert len(versions) == 100


def _checkpoint(channels: int, version: str) -> Checkpoint:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {f"channel-{i}": i for i in range(channels)}
    checkpoint["channel_versions"] = dict.fromkeys(checkpoint["channel_values"], version)
    checkpoint["versions_seen"] = {f"node-{i}": {f"channel-{i}": version} for i in range(channels)}
    return checkpoint


def test_record_round_trips_and_holds_each_version_once() -> None:
    version = next_version(None)
    checkpoint = _checkpoint(20, version)
    put = encode_put(CONFIG, checkpoint, {"step": 3, "run_id": "r1"}, {}, SERDE)
    assert put.record.count(version.encode()) == 1  # 20 channels and 20 nodes refer to it
    assert put.blobs == []  # no channel changed
    stored = decode_record(checkpoint["id"], put.record, SERDE)
    assert stored.checkpoint == {k: v for k, v in checkpoint.items() if k != "channel_values"}
    assert stored.metadata == {"step": 3, "run_id": "r1"}
    assert stored.header.parent_id == "p"
    assert put.run_id == "r1"


def test_put_stores_only_changed_channels_that_have_a_value() -> None:
    checkpoint = _checkpoint(3, "1")
    checkpoint["channel_versions"]["gone"] = "2"  # a version without a value (DeltaChannel)
    put = encode_put(CONFIG, checkpoint, {}, {"channel-1": "1", "gone": "2"}, SERDE)
    assert len(put.blobs) == 1
    stored = decode_record(checkpoint["id"], put.record, SERDE)
    assert set(stored.fields()) == {"channel-0", "channel-1", "channel-2"}


def test_appended_list_is_stored_as_what_it_added() -> None:
    checkpoint = _checkpoint(0, "1")
    checkpoint["channel_values"] = {"log": [{"n": i} for i in range(200)]}
    checkpoint["channel_versions"] = {"log": "1"}
    first = encode_put(CONFIG, checkpoint, {}, {"log": "1"}, SERDE)
    longer: Checkpoint = {**checkpoint, "channel_values": {"log": [{"n": i} for i in range(201)]}}
    longer["channel_versions"] = {"log": "2"}
    second = encode_put(CONFIG, longer, {}, {"log": "2"}, SERDE, first.tails)
    (fld, blob, base) = second.blobs[0]
    assert base == first.blobs[0][0]
    assert len(blob) < len(first.blobs[0][1]) / 20
    blobs = Blobs([first.blobs[0][0], first.blobs[0][1], fld, blob], SERDE)
    assert blobs.value(fld) == (True, longer["channel_values"]["log"])
    # an element changed in place: stored whole
    edited: Checkpoint = {**longer, "channel_values": {"log": [{"n": -1}, *range(201)]}}
    third = encode_put(CONFIG, edited, {}, {"log": "3"}, SERDE, second.tails)
    assert third.blobs[0][2] == b""


def test_special_writes_overwrite_and_regular_writes_keep_the_first() -> None:
    writes = [("a", 1), (INTERRUPT, "ask"), (ERROR, "boom")]
    entries = encode_writes(writes, "task", "", SERDE)
    assert [overwrite for _, overwrite in entries] == [False, True, True]


def test_writes_come_back_in_langgraph_order() -> None:
    raw = b""
    for task, path in [("t2", "~b"), ("t1", "~b"), ("t3", "~a")]:
        for i, channel in enumerate(("x", "y")):
            typed = SERDE.dumps_typed(task)
            raw += encode_write(WriteEntry(task, i, channel, path, typed))
    from state.checkpoint.records import decode_writes as ordered

    assert [w[:2] for w in ordered(raw, SERDE)] == [
        ("t3", "x"), ("t3", "y"), ("t1", "x"), ("t1", "y"), ("t2", "x"), ("t2", "y"),
    ]  # fmt: skip
    assert [e.task_id for e in decode_writes(raw)][:2] == ["t2", "t2"]

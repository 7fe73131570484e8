"""Pure encoding helpers: versions, what a put writes, writes order, script arguments."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT

from state.checkpoint import StrictSerializer
from state.checkpoint.layout import ThreadKeys, blob_field
from state.checkpoint.records import build_put, build_put_writes, decode_writes, next_version
from state.checkpoint.scripts import ScriptCall
from state.checkpoint.serde import unpack

SERDE = StrictSerializer()


def _ops(call: ScriptCall) -> list[tuple[str, str, Any]]:
    """(op, key, field) triples of a script call."""
    args = call.args[1:]
    return [
        (str(args[i]), call.keys[int(args[i + 1]) - 1], args[i + 2]) for i in range(0, len(args), 4)
    ]


def test_versions_increase_and_differ_between_branches() -> None:
    first = next_version(None)
    second = next_version(first)
    assert first < second
    assert second.startswith("0" * 31 + "2.")
    assert next_version(first) != next_version(first)  # two forks from one parent
    assert next_version(7).startswith("0" * 31 + "8.")


def test_put_writes_only_the_channels_that_changed() -> None:
    keys = ThreadKeys("t")
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"big": "x" * 1000, "small": 2}
    checkpoint["channel_versions"] = {"big": "1", "small": "2"}
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "p"}}
    call, stored = build_put(keys, config, checkpoint, {}, {"small": "2"}, SERDE, None)
    blob_ops = [op for op in _ops(call) if op[1] == keys.blobs("")]
    assert [op[2] for op in blob_ops] == [blob_field("small", "2")]
    assert stored["configurable"] == {
        "thread_id": "t",
        "checkpoint_ns": "",
        "checkpoint_id": checkpoint["id"],
    }
    assert call.args[0] == ""  # unfenced
    record = next(op for op in _ops(call) if op[1] == keys.checkpoints(""))
    assert record[2] == checkpoint["id"]


def test_special_writes_overwrite_and_regular_writes_keep_the_first() -> None:
    keys = ThreadKeys("t")
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c"}}
    writes = [("a", 1), (INTERRUPT, "ask"), (ERROR, "boom")]
    call = build_put_writes(keys, config, writes, "task", "", SERDE, 9)
    ops = {op[2]: op[0] for op in _ops(call) if op[1] == keys.writes("", "c")}
    assert ops == {"task:0": "hsetnx", "task:-3": "hset", "task:-1": "hset"}
    assert call.args[0] == "9"
    assert call.keys[0] == keys.fence


def test_writes_come_back_in_langgraph_order() -> None:
    keys = ThreadKeys("t")
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c"}}
    raw: dict[bytes, bytes] = {}
    for task, path in [("t2", "~b"), ("t1", "~b"), ("t3", "~a")]:
        call = build_put_writes(keys, config, [("x", task), ("y", task)], task, path, SERDE, None)
        for i in range(1, len(call.args), 4):
            if call.keys[int(call.args[i + 1]) - 1] == keys.writes("", "c"):
                raw[str(call.args[i + 2]).encode()] = bytes(call.args[i + 3])  # type: ignore[arg-type]
    assert [w[:2] for w in decode_writes(raw, SERDE)] == [
        ("t3", "x"), ("t3", "y"), ("t1", "x"), ("t1", "y"), ("t2", "x"), ("t2", "y"),
    ]  # fmt: skip
    assert unpack(next(iter(raw.values())))[0] in {"t1", "t2", "t3"}


def test_script_call_declares_each_key_once() -> None:
    call = ScriptCall("fence", None)
    call.hset("k1", "f", "v")
    call.hset("k1", "g", "v")
    call.zadd("k2", "m")
    assert call.keys == ["fence", "k1", "k2"]
    assert not call.empty
    assert ScriptCall("fence", 3).empty

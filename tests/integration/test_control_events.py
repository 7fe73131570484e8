"""Per-run event stream against real servers: append, read from an offset, block-tail."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from state.control.connection import connect
from state.control.events import RunEvents
from state.control.plane import ControlPlane

pytestmark = pytest.mark.integration


def test_append_and_read_from_offset(cp: ControlPlane) -> None:
    run_id = f"ev-{uuid.uuid4().hex[:10]}"
    ids = [
        cp.events.append(run_id, "stage_started", stage=f"s{i}", data={"i": i, "name": "é"})
        for i in range(5)
    ]
    events = cp.events.read(run_id)
    assert [e.id for e in events] == ids
    assert events[0].kind == "stage_started"
    assert events[0].stage == "s0"
    assert events[4].data == {"i": 4, "name": "é"}
    assert [e.data["i"] for e in cp.events.read(run_id, after=ids[1])] == [2, 3, 4]
    assert [e.data["i"] for e in cp.events.read(run_id, after=ids[1], count=2)] == [2, 3]
    assert cp.events.read(run_id, after=ids[-1]) == []
    assert cp.events.count(run_id) == 5


def test_tail_blocks_until_an_event_or_timeout(cp: ControlPlane, redis_url: str) -> None:
    run_id = f"ev-{uuid.uuid4().hex[:10]}"
    last = cp.events.append(run_id, "first")
    start = time.monotonic()
    assert cp.events.tail(run_id, after=last, timeout=0.3) == []
    assert time.monotonic() - start >= 0.25

    writer = RunEvents(connect(redis_url))

    def write_later() -> None:
        time.sleep(0.2)
        writer.append(run_id, "verdict", stage="gate:a->b", data={"decision": "pass"})

    thread = threading.Thread(target=write_later)
    thread.start()
    start = time.monotonic()
    got = cp.events.tail(run_id, after=last, timeout=5)
    elapsed = time.monotonic() - start
    thread.join()
    assert [e.kind for e in got] == ["verdict"]
    assert got[0].data == {"decision": "pass"}
    assert 0.1 < elapsed < 4
    # catching up after the fact returns immediately
    assert [e.kind for e in cp.events.tail(run_id, after="0-0", timeout=1)] == [
        "first",
        "verdict",
    ]


def test_maxlen_caps_the_stream(redis_url: str) -> None:
    events = RunEvents(connect(redis_url), maxlen=10)
    run_id = f"ev-{uuid.uuid4().hex[:10]}"
    for i in range(500):
        events.append(run_id, "tick", data={"i": i})
    assert 10 <= events.count(run_id) < 500  # approximate trimming
    assert events.read(run_id, count=1000)[-1].data == {"i": 499}

"""Run registry against real servers: lifecycle, errors, listing, paging, filters, counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typing_extensions import TypedDict

from state.control.connection import connect
from state.control.errors import (
    InvalidArgument,
    InvalidRunId,
    InvalidTransition,
    RunExists,
    RunFinished,
    UnknownRun,
)
from state.control.models import NewRun
from state.control.plane import ControlPlane
from state.status import RUN_STATUSES, RunStatus
from tests.redis_servers import ServerUnderTest

pytestmark = pytest.mark.integration


class Page(TypedDict, total=False):
    """The paging arguments of ``RunRegistry.list``."""

    offset: int
    limit: int


def uid(prefix: str = "run") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_unsafe_run_ids_are_refused_and_nothing_is_created(cp: ControlPlane) -> None:
    good = uid()
    for bad in ("", "a{b}", "r:1", "a b", "é", "x" * 65, "a/b"):
        with pytest.raises(InvalidRunId, match="invalid run id"):
            cp.runs.create(bad, "procurement")
        with pytest.raises(InvalidRunId):
            cp.runs.create_many(
                [NewRun(run_id=good, workflow="wf"), NewRun(run_id=bad, workflow="wf")]
            )
    with pytest.raises(UnknownRun):
        cp.runs.get(good)
    bad_pages: list[Page] = [{"offset": -5}, {"limit": -1}, {"limit": 10**20}, {"offset": 10**20}]
    for bad_page in bad_pages:
        with pytest.raises(InvalidArgument, match="a page needs"):
            cp.runs.list(**bad_page)


def test_create_get_update_lifecycle(cp: ControlPlane) -> None:
    run_id = uid("r_Odd-1")
    created = cp.runs.create(run_id, "procurement", input_summary="3 laptops", user="ana")
    assert created.status == "queued"
    assert created.user == "ana"
    assert cp.runs.get(run_id) == created

    running = cp.runs.update(run_id, status="running", stage="quote", worker="w1")
    assert (running.status, running.stage, running.worker) == ("running", "quote", "w1")
    assert running.updated_at >= created.updated_at
    waiting = cp.runs.update(run_id, status="waiting", reason="approval needed")
    assert waiting.reason == "approval needed"
    assert cp.runs.update(run_id, stage="order").stage == "order"  # no status change
    done = cp.runs.update(run_id, status="running", reason="")
    assert done.reason is None  # "" clears
    cp.runs.update(run_id, status="succeeded")

    with pytest.raises(RunFinished, match="already succeeded"):
        cp.runs.update(run_id, status="running")
    with pytest.raises(RunFinished):
        cp.runs.update(run_id, stage="sneaky")

    kinds = [(e.kind, e.data.get("to")) for e in cp.events.read(run_id)]
    assert kinds == [
        ("status", "queued"),
        ("status", "running"),
        ("status", "waiting"),
        ("status", "running"),
        ("status", "succeeded"),
    ]


def test_errors_are_clear(cp: ControlPlane) -> None:
    missing = uid()
    with pytest.raises(UnknownRun, match=f"unknown run '{missing}'"):
        cp.runs.get(missing)
    with pytest.raises(UnknownRun):
        cp.runs.update(missing, status="running")
    run_id = uid()
    cp.runs.create(run_id, "wf")
    with pytest.raises(RunExists):
        cp.runs.create(run_id, "wf")
    fresh = uid()
    with pytest.raises(RunExists, match=run_id):
        cp.runs.create_many(
            [NewRun(run_id=run_id, workflow="wf"), NewRun(run_id=fresh, workflow="wf")]
        )
    assert cp.runs.get(fresh).status == "queued"  # the others are still created
    with pytest.raises(InvalidTransition, match="queued cannot become waiting"):
        cp.runs.update(run_id, status="waiting")


def test_listing_paging_filters_and_counts(cp: ControlPlane) -> None:
    workflow, other = uid("wf"), uid("wf")
    base = datetime(2030, 1, 1, tzinfo=UTC)
    n = 3000
    specs = [
        # pairs share a timestamp: ties are ordered by id
        NewRun(
            run_id=f"{workflow}-{i:05d}",
            workflow=workflow,
            created_at=base + timedelta(seconds=i // 2),
        )
        for i in range(n)
    ]
    for chunk in range(0, n, 1000):
        cp.runs.create_many(specs[chunk : chunk + 1000])
    cp.runs.create_many(NewRun(run_id=f"{other}-{i}", workflow=other) for i in range(30))
    everything = [(s.created_at.timestamp(), s.run_id) for s in specs if s.created_at]
    # Every 7th run goes through the lifecycle API; the rest stay queued.
    expected: dict[RunStatus, list[str]] = {s: [] for s in RUN_STATUSES}
    finals: tuple[RunStatus, ...] = ("running", "waiting", "succeeded", "killed", "failed")
    for i, spec in enumerate(specs):
        status: RunStatus = finals[(i // 7) % 5] if i % 7 == 0 else "queued"
        if status != "queued":
            cp.runs.update(spec.run_id, status="running")
        if status in ("waiting", "succeeded", "killed", "failed"):
            cp.runs.update(spec.run_id, status=status)
        expected[status].append(spec.run_id)

    newest_first = [r for _, r in sorted(everything, reverse=True)]
    seen: list[str] = []
    offset = 0
    while True:
        page = cp.runs.list(workflow=workflow, offset=offset, limit=300)
        assert page.total == n
        if not page.items:
            break
        seen += [r.run_id for r in page.items]
        offset += 300
    assert seen == newest_first

    page = cp.runs.list(workflow=workflow, status="waiting", offset=10, limit=25)
    assert page.total == len(expected["waiting"])
    assert [r.run_id for r in page.items] == sorted(expected["waiting"], reverse=True)[10:35]
    assert all(r.status == "waiting" and r.workflow == workflow for r in page.items)

    counts = cp.runs.counts(workflow=workflow)
    assert counts == {s: len(expected[s]) for s in RUN_STATUSES}
    assert cp.runs.counts(workflow=other)["queued"] == 30
    assert cp.runs.list(workflow=workflow, offset=n + 5).items == []
    assert cp.runs.list(workflow=workflow, limit=0).total == n
    assert {workflow, other} <= set(cp.runs.workflows())

    unfiltered = cp.runs.list(status="killed", limit=5000)
    assert set(expected["killed"]) <= {r.run_id for r in unfiltered.items}
    assert cp.runs.counts()["killed"] >= len(expected["killed"])


@pytest.mark.parametrize("server", ["valkey", "redis7"], indirect=True)
def test_a_page_costs_a_bounded_number_of_commands(server: ServerUnderTest) -> None:
    cp = ControlPlane(connect(server.url))
    cp.runs.create_many(NewRun(run_id=f"run-{i}", workflow="wf") for i in range(3000))

    def processed() -> int:
        return int(cp.client.info("stats")["total_commands_processed"])

    before = processed()
    page = cp.runs.list(limit=50)
    cost = processed() - before - 1  # minus the INFO itself
    assert len(page.items) == 50
    assert page.total == 3000
    assert cost <= 50 + 3  # ZCARD + ZREVRANGE + one HGETALL per row
    cp.close()


def test_reindex_repairs_a_lagging_index(cp: ControlPlane) -> None:
    workflow = uid("wf")
    run_id = uid()
    cp.runs.create(run_id, workflow)
    # Simulate a lost index update: the hash says running, the index still says queued.
    cp.client.hset(f"wb:{{{run_id}}}:run", "status", "running")
    assert cp.runs.counts(workflow=workflow)["queued"] == 1
    cp.runs.reindex(run_id)
    assert cp.runs.counts(workflow=workflow)["queued"] == 0
    assert [r.run_id for r in cp.runs.list(workflow=workflow, status="running").items] == [run_id]


def test_listings_leave_out_stale_entries_and_drop_those_that_cannot_be_right(
    cp: ControlPlane,
) -> None:
    """After an outage on a Redis Cluster, index writes (on other nodes than the run's) may be
    lost: a finished run still listed ``queued``, an entry of a run whose record was lost. A
    listing shows neither and drops them; a run between two statuses, or a young entry (a
    submission's record follows its entries), is left out but kept."""
    workflow = uid("wf")
    ended, moving, lost, young = uid("ended"), uid("moving"), uid("lost"), uid("young")
    for run_id in (ended, moving):
        cp.runs.create(run_id, workflow)
    cp.runs.update(ended, status="running")
    cp.runs.update(ended, status="succeeded")
    cp.runs.update(moving, status="running")
    old = (datetime.now(UTC) - timedelta(minutes=5)).timestamp()
    queued = ("wb:idx:runs:status:queued", f"wb:idx:runs:workflow:{workflow}:status:queued")
    for key in queued:  # what the lost index writes left behind
        cp.client.zadd(
            key, {ended: old, moving: old, lost: old, young: datetime.now(UTC).timestamp()}
        )
    cp.client.zadd("wb:idx:runs", {lost: old})
    assert cp.runs.counts(workflow=workflow)["queued"] == 4
    page = cp.runs.list(workflow=workflow, status="queued")
    assert page.items == []
    assert page.total == 0
    # Dropped: the finished run (it never moves again) and the entry with no record for long.
    assert cp.runs.counts(workflow=workflow)["queued"] == 2
    assert cp.client.zscore("wb:idx:runs", lost) is None
    assert cp.client.zscore(queued[0], ended) is None
    assert [r.run_id for r in cp.runs.list(workflow=workflow, status="succeeded").items] == [ended]
    assert cp.client.zscore(queued[1], moving) is not None  # its move (or a sweeper) settles it
    assert cp.client.zscore(queued[1], young) is not None
    assert cp.runs.list(workflow=workflow, status="queued").total == 0


def test_a_finished_run_is_listed_under_its_status_alone(cp: ControlPlane) -> None:
    """A decision lists a waiting run as queued before it is resumed (``expect``); if the run
    goes on another way (executed at once) and ends, it is not left listed as queued or
    waiting, and nothing expected of it afterwards lists it again."""
    workflow, run_id = uid("wf"), uid()
    cp.runs.create(run_id, workflow)
    cp.runs.update(run_id, status="running")
    cp.runs.update(run_id, status="waiting")
    cp.runs.expect(run_id, "queued")  # the decision's resume is about to queue it
    cp.runs.update(run_id, status="running")  # ... but a worker resumed it directly
    cp.runs.update(run_id, status="succeeded")
    cp.runs.expect(run_id, "queued")  # a late resume of a finished run
    counts = cp.runs.counts(workflow=workflow)
    assert {s: n for s, n in counts.items() if n} == {"succeeded": 1}
    for status in ("queued", "waiting", "running"):
        assert cp.runs.list(workflow=workflow, status=status).items == []

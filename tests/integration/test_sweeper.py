"""Background work is proportional to what fell due, not to the backlog: a sweep with nothing
due costs the same with 10 or 2,000 runs waiting; a due run is looked at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rq import Queue
from rq.executions import Execution
from rq.job import JobStatus

from graph.runtime.queueing import enqueue_run
from graph.runtime.sweeper import recover_orphans
from state.control.models import NewRun
from state.control.plane import ControlPlane
from state.control.run_index import QUEUED_GRACE_S
from state.control.run_updates import run_hash_key
from tests.redis_servers import ServerUnderTest


def _commands(cp: ControlPlane) -> int:
    stats: dict[str, Any] = cp.client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def test_a_sweep_with_nothing_due_costs_the_same_however_many_runs_wait(
    server: ServerUnderTest,
) -> None:
    cp = ControlPlane.from_url(server.url)
    queue = Queue("waybill", connection=server.client())
    costs = []
    for n in (10, 2000):
        cp.runs.create_many(NewRun(run_id=f"q{n}-{i}", workflow="steps") for i in range(n))
        before = _commands(cp)
        assert recover_orphans(cp, queue) == []
        assert cp.retention.purge_due() == []
        costs.append(_commands(cp) - before)
    assert costs[0] == costs[1] <= 2, costs  # one read of each index's due entries
    assert cp.runs.counts()["queued"] == 2010
    cp.close()


def test_due_runs_are_looked_at_once_and_orphans_requeued(server: ServerUnderTest) -> None:
    cp = ControlPlane.from_url(server.url)
    queue = Queue("waybill", connection=server.client())
    for run_id in ("lost-running", "waiting-job", "lost-job"):
        cp.runs.create(run_id, "steps")
    cp.runs.update("lost-running", status="running")  # its worker died: no lease
    enqueue_run(queue, "waiting-job")  # its job is still in the queue
    assert recover_orphans(cp, queue) == []  # nothing is due yet
    later = time.time() + QUEUED_GRACE_S + 1
    assert sorted(recover_orphans(cp, queue, now=later)) == ["lost-job", "lost-running"]
    assert sorted(job.args[0] for job in queue.jobs) == ["lost-job", "lost-running", "waiting-job"]
    assert recover_orphans(cp, queue, now=later) == []  # looked at again only later
    assert recover_orphans(cp, queue, now=later + QUEUED_GRACE_S + 1) == []  # jobs wait now
    cp.runs.update("lost-job", status="failed", reason="test")
    assert cp.client.zscore("wb:idx:watch", "lost-job") is None  # a finished run leaves it
    cp.close()


def test_a_run_whose_requeued_job_is_lost_again_is_requeued_again(server: ServerUnderTest) -> None:
    """A worker that dies between dequeue and start takes the job along (gone, or left
    ``started``) and no fencing token changes: each lost job is re-queued once, not once per
    token (which left the run queued, with nothing to run it, until the first recovery's guard
    expired); a job a worker started a moment ago is not lost."""
    cp = ControlPlane.from_url(server.url)
    queue = Queue("waybill", connection=server.client())
    names = ["dead", "fresh", "gone"]
    for run_id in names:
        cp.runs.create(run_id, "steps")
    # A running run whose worker died, its job's retry scheduled by RQ (which waits for a
    # scheduler, whose lock the dead worker may hold): re-queued now, not after the retry.
    cp.runs.create("retrying", "steps")
    cp.runs.update("retrying", status="running")
    retry = enqueue_run(queue, "retrying")
    queue.remove(retry)
    retry.set_status(JobStatus.SCHEDULED)
    first = time.time() + QUEUED_GRACE_S + 1
    assert sorted(recover_orphans(cp, queue, now=first)) == [*names, "retrying"]
    jobs = {job.args[0]: job for job in queue.jobs}
    del jobs["retrying"]  # its fresh job waits in the queue: not re-queued again below
    jobs["gone"].delete()  # gone with its worker
    for run_id, started in (("dead", first), ("fresh", first + QUEUED_GRACE_S - 5)):
        job = jobs[run_id]  # taken from the queue by a worker...
        queue.remove(job)
        job.started_at = datetime.fromtimestamp(started, UTC)
        job.save()
        job.set_status(JobStatus.STARTED)  # ...which died before the run started ("dead")
    again = first + QUEUED_GRACE_S + 1
    assert sorted(recover_orphans(cp, queue, now=again)) == ["dead", "gone"]
    assert sorted(job.args[0] for job in queue.jobs) == ["dead", "gone", "retrying"]
    # "fresh" is looked at again as soon as its start is that old, not after the whole wait.
    assert recover_orphans(cp, queue, now=first + 2 * QUEUED_GRACE_S - 4) == ["fresh"]
    cp.close()


def test_a_job_taken_from_the_queue_by_a_worker_that_died_before_starting_it_is_requeued(
    server: ServerUnderTest,
) -> None:
    """RQ marks a job started only once its work process runs it: a worker killed between
    dequeue and start leaves it "queued" but out of the queue, and the run stayed queued for
    good (looked at again ever less often, as if it waited in a long queue). It is lost once a
    worker took it ``QUEUED_GRACE_S`` ago (or at once when no worker recorded taking it)."""
    cp = ControlPlane.from_url(server.url)
    queue = Queue("waybill", connection=server.client())
    for run_id in ("popped", "taken", "waiting"):
        cp.runs.create(run_id, "steps")
    jobs = {run_id: enqueue_run(queue, run_id) for run_id in ("popped", "taken", "waiting")}
    queue.remove(jobs["popped"])  # dequeued; its worker died before recording anything
    created = time.time()
    time.sleep(2)
    queue.remove(jobs["taken"])  # dequeued 2 s later, recorded as taken; then its worker died
    pipe = queue.connection.pipeline()
    Execution.create(jobs["taken"], ttl=600, pipeline=pipe, worker_name="doomed")
    pipe.execute()
    taken_at = time.time()
    assert {j.get_status() for j in jobs.values()} == {JobStatus.QUEUED}
    first = created + QUEUED_GRACE_S + 1  # every run is due; "taken" was taken < GRACE ago
    assert recover_orphans(cp, queue, now=first) == ["popped"]
    assert recover_orphans(cp, queue, now=taken_at + QUEUED_GRACE_S + 1) == ["taken"]
    assert sorted(job.args[0] for job in queue.jobs) == ["popped", "taken", "waiting"]
    cp.close()


def test_a_damaged_run_record_does_not_stop_the_sweep_of_the_others(
    server: ServerUnderTest,
) -> None:
    """A watched run whose hash cannot be read is named in the log and left out of the watch;
    the sweep goes on to the other runs (it failed whole, at every sweep, behind that run)."""
    cp = ControlPlane.from_url(server.url)
    queue = Queue("waybill", connection=server.client())
    for run_id in ("aa-damaged", "zz-lost"):
        cp.runs.create(run_id, "steps")
        cp.runs.update(run_id, status="running")  # their worker died: no lease
    cp.client.hset(run_hash_key("aa-damaged"), "status", "bogus")
    later = time.time() + QUEUED_GRACE_S + 1
    assert recover_orphans(cp, queue, now=later) == ["zz-lost"]
    assert cp.client.zscore("wb:idx:watch", "aa-damaged") is None
    assert [job.args[0] for job in queue.jobs] == ["zz-lost"]
    cp.close()

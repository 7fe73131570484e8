"""The background work of a worker: runs that lost their worker, and runs whose retention ended.

Both read only what fell due: ``wb:idx:watch`` scores each queued or running run by when to
look at it (a queued run's grace period, a running run's lease deadline, pushed on at each
renewal) and ``wb:idx:expiry`` each finished run by the end of its retention. A sweep with
nothing due is two commands, however many runs wait, run or are kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from rq import Queue
from rq.job import Job, JobStatus

from graph.runtime.queueing import enqueue_run, job_of_key
from state.control.connection import text, texts
from state.control.errors import DamagedRun
from state.control.leases import lease_key
from state.control.models import RunRecord
from state.control.outage import LoopLog
from state.control.outbox import outbox_key
from state.control.plane import ControlPlane
from state.control.run_index import QUEUED_GRACE_S, WATCH_KEY, WATCHED, watch
from state.control.run_records import record_of
from state.control.run_updates import run_hash_key
from state.keys import fence_key, run_key

log = logging.getLogger(__name__)

BATCH = 200
"""Most runs one sweep looks at (the rest wait for the next sweep)."""
_WAITING_JOB = ("queued", "scheduled", "deferred")


def recover_orphans(cp: ControlPlane, queue: Queue, *, now: float | None = None) -> list[str]:
    """Re-queue runs whose worker died, among the watched runs that fell due by ``now``.

    A ``running`` run whose lease expired lost its worker mid-run; a ``queued`` run with no
    lease and no job waiting for it lost it between dequeue and start (or its dispatcher died
    before queueing it: its outbox still holds the intent). Executing a run twice is safe
    (lease + fencing + terminal check), so a rare double re-queue costs a no-op job.
    """
    at = time.time() if now is None else now
    due = texts(cp.client.zrangebyscore(WATCH_KEY, "-inf", at, start=0, num=BATCH))
    if not due:
        return []
    pipe = cp.client.pipeline(transaction=False)
    for run_id in due:
        pipe.hgetall(run_hash_key(run_id))
        pipe.pttl(lease_key(run_id))
        pipe.hlen(outbox_key(run_id))
    replies = pipe.execute()
    requeued = []
    for i, run_id in enumerate(due):
        fields, lease_ms, intents = replies[3 * i : 3 * i + 3]
        if _look(cp, queue, run_id, fields, int(lease_ms), int(intents), at):
            requeued.append(run_id)
    return requeued


def _look(
    cp: ControlPlane,
    queue: Queue,
    run_id: str,
    fields: dict[str, Any],
    lease_ms: int,
    intents: int,
    now: float,
) -> bool:
    """Look at one due run; returns whether it was re-queued."""
    if not fields:
        cp.client.zrem(WATCH_KEY, run_id)
        return False
    try:
        record = record_of({text(k): text(v) for k, v in fields.items()}, run_id)
    except DamagedRun as exc:  # nothing can recover it: it must not stop the sweep of the rest
        log.error("%s: no longer watched for a lost worker", exc)
        cp.client.zrem(WATCH_KEY, run_id)
        return False
    if record.status not in WATCHED:
        cp.runs.reindex(run_id)  # its listings lag its hash; the watch ends there too
        return False
    if lease_ms > 0:  # alive: look again when its lease would end
        _rewatch(cp, run_id, now + lease_ms / 1000)
        return False
    if intents:  # its dispatcher died before queueing it: complete what it left
        cp.complete(run_id, lambda r: _enqueue(queue, r))
        _rewatch(cp, run_id, now + QUEUED_GRACE_S)
        return False
    job_id = text(queue.connection.get(job_of_key(run_id)) or "")
    waiting = _waiting_until(queue, job_id, record, now)
    if waiting is not None:
        _rewatch(cp, run_id, waiting)
        return False
    _rewatch(cp, run_id, now + QUEUED_GRACE_S)
    return _requeue_once(cp, queue, record, job_id)


def _enqueue(queue: Queue, run_id: str) -> None:
    enqueue_run(queue, run_id)


def _rewatch(cp: ControlPlane, run_id: str, at: float) -> None:
    cp.client.execute_command(*watch(run_id, at))  # type: ignore[no-untyped-call]


def _waiting_until(queue: Queue, job_id: str, record: RunRecord, now: float) -> float | None:
    """When to look at the run again if its latest job (``job_id``) will still run, else None.

    A job waiting in the queue: later, and less often the longer the run waits (a long queue).
    For a ``queued`` run that is a job queued, scheduled or deferred, or one a worker started
    less than ``QUEUED_GRACE_S`` ago: looked at again once that has passed (a start takes the
    run's lease at once; one older than that died between dequeue and start). For a
    ``running`` run whose lease ended, only a job queued now: its started job is its dead
    holder's, and that job's retry, scheduled by RQ, waits for a scheduler whose lock may be
    the dead worker's (up to a minute).
    """
    if not job_id:
        return None
    try:
        job = Job.fetch(job_id, connection=queue.connection)
        state = job.get_status()
    except Exception:  # the job expired or was deleted
        return None
    if state == JobStatus.QUEUED and queue.connection.lpos(queue.key, job_id) is None:
        # Taken from the queue by a worker that died before starting it: RQ marks a job
        # started only once its work process runs it, so it still says "queued".
        return _lost_after_dequeue(job, now)
    waits = _WAITING_JOB if record.status == "queued" else ("queued",)
    if state is not None and JobStatus(state).value in waits:
        return now + max(QUEUED_GRACE_S, now - record.updated_at.timestamp())
    started = job.started_at
    if record.status != "queued" or state != JobStatus.STARTED or started is None:
        return None
    if started.tzinfo is None:  # RQ stores UTC
        started = started.replace(tzinfo=UTC)
    lost_at = started.timestamp() + QUEUED_GRACE_S
    return lost_at if now < lost_at else None


def _lost_after_dequeue(job: Job, now: float) -> float | None:
    """When a job that left the queue counts as lost (``QUEUED_GRACE_S`` after a worker took
    it, as its execution records; a start takes the run's lease at once), or None: lost now."""
    taken = [e.created_at for e in job.get_executions()]
    if not taken:
        return None  # dequeued, and its worker died before it even recorded taking it
    first = min(taken)
    lost_at = (first if first.tzinfo else first.replace(tzinfo=UTC)).timestamp() + QUEUED_GRACE_S
    return lost_at if now < lost_at else None


def _requeue_once(cp: ControlPlane, queue: Queue, record: RunRecord, job_id: str) -> bool:
    """Re-queue an orphaned run, unless another sweeper already did (then False)."""
    # One sweeper wins per orphaning, even with many workers sweeping: keyed by the dead
    # holder's fencing token and the job it lost (``job_id``, read before the job was found
    # missing). A run orphaned again later, even before it started (no new token), has lost
    # another job: it is recovered again.
    run_id = record.run_id
    token = text(cp.client.get(fence_key(run_id)) or "0")
    guard = run_key(run_id, "recovering", f"{token}:{job_id or '-'}")
    if not cp.client.set(guard, "1", nx=True, ex=60):
        return False
    log.warning("run %s (%s) lost its worker: re-queued", run_id, record.status)
    enqueue_run(queue, run_id)
    return True


def sweep_forever(
    cp: ControlPlane, queue: Queue, every: float, stop: threading.Event, also: Callable[[], Any]
) -> None:
    """Sweep every ``every`` seconds until ``stop``: orphans, expired runs, then ``also()``."""
    said = LoopLog(log, "sweep")
    while not stop.wait(every):
        try:
            recover_orphans(cp, queue)
            for purged in cp.retention.purge_due():
                log.info("run %s (%s) purged: its retention ended", purged.run_id, purged.status)
            also()
        except Exception as exc:
            said.failed(exc)
        else:
            said.ok()


def adopt_unwatched(cp: ControlPlane) -> int:
    """Watch every queued or running run not watched yet (runs from before the watch existed);
    a page at a time, once per work process. Returns how many were added."""
    added = 0
    for status in WATCHED:
        offset = 0
        while True:
            page = cp.runs.list(status=status, offset=offset, limit=BATCH)  # type: ignore[arg-type]
            if page.items:
                at = time.time() + QUEUED_GRACE_S
                mapping = {r.run_id: at for r in page.items}
                added += int(cp.client.zadd(WATCH_KEY, mapping, nx=True))  # type: ignore[arg-type]
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
    return added

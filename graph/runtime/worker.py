"""RQ jobs and the worker process: where runs execute, on one machine or many.

``waybill worker`` runs :func:`run_worker`: an RQ worker (with its scheduler, for veto windows
and decision deadlines), a sweeper that re-queues runs whose worker died (their lease expired
while ``running``), and the notifier that delivers notices (``graph.runtime.notifier``).
The job functions below are what the queue holds; they only need the run id.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import redis
from rq import Queue, Retry, Worker
from rq.job import Job, get_current_job

from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.notifier import start_notifier
from graph.runtime.principal import SYSTEM, ServiceError
from graph.runtime.registry import default_registry
from graph.runtime.runner import compile_chain
from graph.runtime.schedule import RqScheduler
from graph.runtime.service import RunService
from state.checkpoint.client import sync_client
from state.control.errors import ControlPlaneError
from state.control.models import RunRecord
from state.control.plane import ControlPlane
from state.embedded_probe import process_alive
from state.keys import fence_key, run_key
from state.settings import get_settings
from state.status import RunStatus

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 3600
SOCKET_TIMEOUT_S = 10.0
RETRY = Retry(max=3, interval=[1, 2, 5])


def client_like(raw: redis.Redis, *, decode: bool) -> redis.Redis:
    """A new client on the same server as ``raw`` (same credentials, same retry policy).

    Jobs get RQ's connection, which blocks without a socket timeout (for its queue reads); the
    run's own clients get one, so a hung server fails the call instead of the run hanging.
    """
    pool = raw.connection_pool
    kwargs = {
        **pool.connection_kwargs,
        "decode_responses": decode,
        "socket_timeout": SOCKET_TIMEOUT_S,
    }
    return redis.Redis(connection_pool=type(pool)(connection_class=pool.connection_class, **kwargs))


def text_client(raw: redis.Redis) -> redis.Redis:
    """A client on the same server as ``raw`` that decodes replies (for the control plane)."""
    return client_like(raw, decode=True)


def job_prefix(run_id: str) -> str:
    """RQ job ids allow letters, digits, ``_`` and ``-`` only.

    New run ids use that alphabet already (``state.keys.RUN_ID_PATTERN``), so the prefix names
    one run; older ids with other characters have them replaced.
    """
    return "run-" + re.sub(r"[^A-Za-z0-9_-]", "_", run_id) + "-"


def enqueue_run(queue: Queue, run_id: str) -> Job:
    """Queue the execution (or resumption) of ``run_id``."""
    return queue.enqueue(
        "graph.runtime.worker.execute_run",
        run_id,
        job_id=job_prefix(run_id) + uuid.uuid4().hex[:8],
        retry=RETRY,
        job_timeout=JOB_TIMEOUT_S,
        description=f"waybill run {run_id}",
    )


def make_service(cp: ControlPlane, queue: Queue) -> RunService:
    """The run service dispatching to ``queue``."""

    def dispatch(run_id: str) -> None:
        enqueue_run(queue, run_id)

    return RunService(cp, default_registry(), dispatch, raw=queue.connection)


def _executor(raw: redis.Redis, cp: ControlPlane, worker: str, job_id: str | None) -> RunExecutor:
    settings = get_settings()
    queue = Queue(settings.queue_name, connection=raw)
    return RunExecutor(
        cp,
        raw,
        default_registry(),
        worker=worker,
        config=ExecutorConfig.from_settings(settings),
        job_id=job_id,
        schedule_veto=RqScheduler(queue),
    )


def execute_run(run_id: str) -> str:
    """RQ job: advance ``run_id`` until it waits, ends or is killed."""
    job = get_current_job()
    assert job is not None, "execute_run runs inside an RQ job"
    raw = client_like(job.connection, decode=False)
    cp = ControlPlane(text_client(raw))
    try:
        return _executor(raw, cp, job.worker_name or socket.gethostname(), job.id).execute(run_id)
    finally:
        cp.close()
        raw.close()


def veto_window_elapsed(run_id: str, escalation_id: str) -> str:
    """RQ job at the end of a notify-tier veto window: let the action run unless vetoed."""
    job = get_current_job()
    assert job is not None
    raw = job.connection
    cp = ControlPlane(text_client(raw))
    queue = Queue(get_settings().queue_name, connection=raw)
    try:
        make_service(cp, queue).decide(
            escalation_id, "approve", who=SYSTEM, comment="no veto within the window", run_id=run_id
        )
        return "proceeded"
    except ControlPlaneError as exc:  # vetoed first (conflict), or the run ended
        return f"not proceeded: {exc}"
    finally:
        cp.close()


QUEUED_GRACE_S = 15.0
"""A run ``queued`` this long with no job waiting for it lost its job (its worker died)."""


def recover_orphans(cp: ControlPlane, queue: Queue) -> list[str]:
    """Re-queue runs whose worker died.

    A ``running`` run whose lease expired lost its worker mid-run; a ``queued`` run with no job
    in the queue for a while lost it between dequeue and start. Executing a run twice is safe
    (lease + fencing + terminal check), so a rare double re-queue costs nothing but a no-op job.
    """
    requeued = []
    # The queue's job ids, read once per sweep and only if a queued run needs them.
    waiting_jobs = functools.cache(lambda: {j.rsplit("-", 1)[0] + "-" for j in queue.job_ids})
    now = time.time()
    for listed in ("running", "queued"):
        for record in _listed(cp, listed):
            status = record.status  # the run's hash: an index entry may lag or lead it
            if status != listed:
                cp.runs.reindex(record.run_id)
            if status not in ("running", "queued"):
                continue
            if cp.leases.current(record.run_id) is not None:
                continue
            if status == "queued" and _job_pending(record, now, waiting_jobs):
                continue
            if _requeue_once(cp, queue, record.run_id):
                requeued.append(record.run_id)
    return requeued


def _listed(cp: ControlPlane, status: RunStatus) -> Iterator[RunRecord]:
    """Every run the index lists under ``status``, fetched a page at a time."""
    offset = 0
    while True:
        page = cp.runs.list(status=status, offset=offset, limit=200)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _job_pending(record: RunRecord, now: float, waiting_jobs: Callable[[], set[str]]) -> bool:
    """Whether a queued run may still be picked up: queued recently, or its job is waiting."""
    if now - record.updated_at.timestamp() < QUEUED_GRACE_S:
        return True
    return job_prefix(record.run_id) in waiting_jobs()


def _requeue_once(cp: ControlPlane, queue: Queue, run_id: str) -> bool:
    """Re-queue an orphaned run, unless another sweeper already did (then False)."""
    # One sweeper wins per orphaning (keyed by the dead holder's fencing token), even with many
    # workers sweeping; a run orphaned again later is recovered again.
    token = cp.client.get(fence_key(run_id)) or "0"
    guard = run_key(run_id, "recovering", str(token))
    if not cp.client.set(guard, "1", nx=True, ex=60):
        return False
    cp.complete(run_id)  # a transition's audit entry, if it was lost
    log.warning("run %s lost its worker: re-queued", run_id)
    enqueue_run(queue, run_id)
    return True


def _sweep_forever(url: str, queue_name: str, every: float, stop: threading.Event) -> None:
    cp = ControlPlane.from_url(url)
    raw = sync_client(url)
    queue = Queue(queue_name, connection=raw)
    while not stop.wait(every):
        try:
            recover_orphans(cp, queue)
        except Exception:
            log.exception("orphan sweep failed")


class WorkerNameTaken(ServiceError):  # noqa: N818 - reads as what happened
    """A live worker already runs under the requested name."""


def claim_worker_name(raw: redis.Redis, name: str) -> None:
    """Make ``name`` free for a new worker, or refuse it while its holder lives.

    RQ refuses a name whose registration is still in Redis, and a worker killed with SIGKILL
    leaves one behind for minutes (until its TTL). A registration made on this host by a
    process that no longer runs (or by this very pid: a restarted container) is stale: it is
    retired as RQ retires a worker that exits cleanly. One from another host, or of a live
    process, is refused, naming where it runs.

    Raises:
        WorkerNameTaken: A live worker (or one on another host) holds the name.
    """
    key = Worker.redis_worker_namespace_prefix + name
    holder = Worker.find_by_key(key, connection=raw)
    if holder is None or raw.hexists(key, "death"):
        return
    here = holder.hostname == socket.gethostname()
    pid = holder.pid
    if here and pid is not None and (pid == os.getpid() or not process_alive(pid)):
        log.warning("worker name %s: retiring the registration of dead pid %s", name, pid)
        holder.register_death()  # type: ignore[no-untyped-call]  # rq leaves it untyped
        return
    where = f"{holder.hostname or 'an unknown host'} (pid {pid or '?'})"
    raise WorkerNameTaken(
        f"a worker named {name!r} is running on {where}: stop it first or pick another --name"
    )


def run_worker(url: str, *, burst: bool = False, name: str | None = None) -> bool:
    """Run an RQ worker on the runs queue (blocking). Returns True when it stopped cleanly.

    Raises:
        WorkerNameTaken: ``name`` belongs to a live worker (see :func:`claim_worker_name`).
    """
    settings = get_settings()
    raw = sync_client(url, socket_timeout=None)  # RQ blocks on its queue reads
    if name is not None:
        claim_worker_name(raw, name)
    queue = Queue(settings.queue_name, connection=raw)
    stop = threading.Event()
    sweeper = threading.Thread(
        target=_sweep_forever,
        args=(url, settings.queue_name, max(settings.lease_ttl_s / 3, 0.5), stop),
        name="orphan-sweeper",
        daemon=True,
    )
    if not burst:
        sweeper.start()
        start_notifier(url, settings, stop)
    # Compile every workflow once here: each job runs in a process forked from this one and
    # inherits the compiled graphs instead of compiling its own.
    registry = default_registry()
    for workflow in registry.names():
        compile_chain(registry.get(workflow), None)
    worker = Worker(
        [queue],
        connection=raw,
        name=name or f"waybill-{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
    )
    try:
        return bool(worker.work(burst=burst, with_scheduler=True, logging_level="WARNING"))
    finally:
        stop.set()

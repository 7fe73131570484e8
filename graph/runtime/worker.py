"""``waybill worker``: a supervisor and the long-lived work process it keeps running.

The work process executes one job after another in itself (RQ's ``SimpleWorker``: no fork per
job), so settings, clients, compiled chains, the checkpointer's connection and the view of the
kill switches are built once (``graph.runtime.jobs.WorkContext``); RQ's scheduler (veto
windows, deadlines, retries), the sweeper (``graph.runtime.sweeper``) and the notifier run
beside it in threads. Told to stop, it drains: the run in progress goes back to the queue at
its next node boundary.

The hard stop stays: a node that ignores a kill past the grace period makes the work process
exit at once (``HARD_STOPPED``). The supervisor does nothing else but wait: when its work
process ends for any reason but a stop it asked for (a hard stop, a node that killed it, an OOM
kill), it settles the job left behind with RQ (stopped, or failed and retried per its policy)
and forks a new one, which starts warm (everything is imported and compiled in the
supervisor). The work process dies with its supervisor (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.job import Job

from graph.runtime.jobs import execute_run, veto_window_elapsed
from graph.runtime.principal import ServiceError
from graph.runtime.registry import default_registry
from graph.runtime.runner import compile_chain
from graph.runtime.workproc import HARD_STOPPED, PARTING_S, SUPERVISOR_FIELD, work_process
from state.checkpoint.client import sync_client
from state.control.outage import OUTAGE_ERRORS
from state.embedded_probe import process_alive
from state.signals import stop_signals

__all__ = ["WorkerNameTaken", "claim_worker_name", "execute_run", "run_worker"]
__all__ += ["veto_window_elapsed"]  # jobs queued before the jobs module existed name these

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before starting a new work process when the last ones died young (Redis down...)."""

T = TypeVar("T")


def through_outage(
    call: Callable[[], T],
    what: str,
    patience_s: float,
    stopping: Callable[[], bool],
    errors: tuple[type[Exception], ...] = OUTAGE_ERRORS,
) -> T:
    """``call()``, tried again every second while it fails with ``errors`` (Redis cannot be
    reached), for at most ``patience_s`` (``WAYBILL_REDIS_OUTAGE_S``), saying so once: a worker
    outlives a Redis restart.

    Raises:
        Exception: The last of ``errors`` when Redis is still down after ``patience_s`` (or
            the worker is stopping).
    """
    deadline = time.monotonic() + patience_s
    told = False
    while True:
        try:
            return call()
        except errors as exc:
            if stopping() or time.monotonic() >= deadline:
                raise
            if not told:
                log.warning("%s: %s; waiting up to %.0fs", what, exc, patience_s)
                told = True
            time.sleep(1.0)


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
    supervisor = raw.hget(key, SUPERVISOR_FIELD)  # the `waybill worker` process to stop
    shown = supervisor.decode() if isinstance(supervisor, bytes) else supervisor or pid or "?"
    where = f"{holder.hostname or 'an unknown host'} (pid {shown})"
    raise WorkerNameTaken(
        f"a worker named {name!r} is running on {where}: stop it first or pick another --name"
    )


def settle_left_job(queue_url: str, name: str, exit_code: int, *, once: bool = False) -> None:
    """Settle with RQ the job a dead work process left (stopped after a hard stop; otherwise
    failed, and retried per its policy) and retire its registration; ``once``: in one try,
    without riding out an outage (the worker is stopping)."""
    if once:  # the queue is never on a cluster: no probe for one (a round trip more)
        conn = redis.Redis.from_url(
            queue_url,
            socket_timeout=PARTING_S,
            socket_connect_timeout=PARTING_S,
            retry=Retry(NoBackoff(), 0),
        )
    else:
        conn = sync_client(queue_url, socket_timeout=10.0)
    try:
        key = Worker.redis_worker_namespace_prefix + name
        worker = Worker.find_by_key(key, connection=conn)
        if worker is None or conn.hexists(key, "death"):
            return
        for execution in worker.get_current_executions(refresh=True):
            with contextlib.suppress(Exception):  # the job may be gone already
                job = Job.fetch(execution.job_id, connection=conn)
                if exit_code == HARD_STOPPED:
                    job.retries_left = 0  # killed: the run is over, nothing to retry
                why = "hard-stopped" if exit_code == HARD_STOPPED else f"exit code {exit_code}"
                worker.handle_job_failure(
                    job,
                    Queue(job.origin, connection=conn),
                    exc_string=f"the work process ended ({why})",
                    execution=execution,
                )
        worker.register_death()  # type: ignore[no-untyped-call]
    finally:
        conn.close()


class Supervisor:
    """Keeps one work process running until stopped (or, in burst mode, until it is done)."""

    def __init__(
        self, url: str, queue_url: str, name: str, *, burst: bool, patience_s: float = 60.0
    ) -> None:
        self.url = url
        self.queue_url = queue_url
        self.name = name
        self.burst = burst
        self.patience_s = patience_s
        self.child = 0
        self.stopping = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # A stop for the work process too: idle, it exits; inside a job, it drains (its node
        # finishes, the run goes back to the queue; see ``workproc.LeanWorker``).
        self.stopping = True
        if self.child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGTERM)

    def run(self) -> bool:
        """Run work processes until stopped; True when the last one ended cleanly."""
        for signum in (signal.SIGINT, *stop_signals()):  # SIGHUP: its terminal closed
            signal.signal(signum, self._on_signal)
        deaths = 0
        while True:
            started = time.monotonic()
            code = self._once()
            if code == 0 and (self.stopping or self.burst):
                return True
            through_outage(
                partial(settle_left_job, self.queue_url, self.name, code, once=self.stopping),
                f"worker {self.name}",
                self.patience_s,
                lambda: self.stopping,
            )
            if self.stopping:
                return False
            deaths = deaths + 1 if time.monotonic() - started < 5 else 0
            log.warning(
                "worker %s: work process ended (code %s); starting another", self.name, code
            )
            time.sleep(RESTART_BACKOFF_S[min(deaths, len(RESTART_BACKOFF_S) - 1)])

    def _once(self) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the work process
            code = 1
            try:
                code = work_process(self.url, self.queue_url, self.name, self.burst, parent)
            except OUTAGE_ERRORS as exc:  # e.g. stopped while Redis is gone: no deregistering
                log.warning("worker %s: the work process lost Redis (%s)", self.name, exc)
            except BaseException:
                log.exception("worker %s: the work process failed", self.name)
            finally:
                os._exit(code)
        self.child = pid
        _, status = os.waitpid(pid, 0)
        self.child = 0
        return os.waitstatus_to_exitcode(status)


def run_worker(
    url: str,
    *,
    burst: bool = False,
    name: str | None = None,
    queue_url: str | None = None,
    patience_s: float = 60.0,
) -> bool:
    """Run a worker on the runs queue (blocking). Returns True when it stopped cleanly.

    Args:
        url: The state's Redis (a Redis Cluster too).
        burst: Stop when the queue is empty.
        name: The worker's name (default: host and a random suffix).
        queue_url: The queue's Redis when it is not the state's (``WAYBILL_QUEUE_URL``).
        patience_s: How long a Redis outage is waited out (``WAYBILL_REDIS_OUTAGE_S``).

    Raises:
        WorkerNameTaken: ``name`` belongs to a live worker (see :func:`claim_worker_name`).
        redis.ConnectionError: Redis stayed unreachable for ``patience_s``.
    """
    queue_url = queue_url or url
    name = name or f"waybill-{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
    raw = sync_client(queue_url)
    try:
        through_outage(
            lambda: claim_worker_name(raw, name), f"worker {name}", patience_s, lambda: False
        )
    finally:
        raw.close()
    # Everything is imported and compiled here, once: every work process is forked warm.
    registry = default_registry()
    for workflow in registry.names():
        compile_chain(registry.get(workflow), None)
    return Supervisor(url, queue_url, name, burst=burst, patience_s=patience_s).run()

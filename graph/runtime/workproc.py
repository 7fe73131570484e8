"""The work process of a worker: RQ's in-process worker, with RQ's scheduler and the sweeper
in threads beside it (see ``graph.runtime.worker`` for the supervisor that keeps it running).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType

import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.retry import Retry
from rq import Queue, SimpleWorker, Worker
from rq.scheduler import RQScheduler
from rq.scripts import release_lock
from rq.worker import WorkerStatus

from graph.runtime.jobs import WorkContext, install, installed
from graph.runtime.notifier import start_notifier
from graph.runtime.sweeper import adopt_unwatched, sweep_forever
from state.checkpoint.client import sync_client
from state.clock import utcnow
from state.control.connection import connect
from state.control.outage import OUTAGE_ERRORS, LoopLog
from state.control.plane import ControlPlane
from state.embedded_probe import process_alive
from state.settings import get_settings

log = logging.getLogger(__name__)

HARD_STOPPED = 85
"""Exit code of a work process that ended itself to hard-stop a run's node."""
_PR_SET_PDEATHSIG = 1
HEARTBEAT_S = 60.0
BEAT_EVERY_S = 5.0
"""Least time between two of RQ's own worker beats (its registration lives minutes)."""
DRAIN_S = 30.0
"""Longest wait for the node in progress when a worker is told to stop."""
PARTING_S = 2.0
"""Longest wait for Redis of a worker told to stop (to deregister, to settle its job)."""
SUPERVISOR_FIELD = "waybill_supervisor"
"""The field of a worker's RQ registration holding its supervisor's pid."""


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its supervisor dies (Linux; elsewhere a no-op)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before the line above
        os._exit(1)


def exit_hard(run_id: str) -> None:
    """End this work process now (a node ignored a kill); the supervisor starts another."""
    log.warning("run %s: ending the work process to stop its node", run_id)
    os._exit(HARD_STOPPED)


class LeanWorker(SimpleWorker):
    """RQ's in-process worker that drains: a stop signal during a job lets the current node
    finish, hands the run back to the queue at its next boundary, and stops after the job (RQ
    then deregisters the worker). A node still running ``DRAIN_S`` later, or a second signal,
    ends the process at once (the supervisor settles the job; the run goes on elsewhere from
    its last checkpoint)."""

    def register_birth(self) -> None:
        """Register with RQ, naming the supervisor too (the process a user stops)."""
        super().register_birth()  # type: ignore[no-untyped-call]
        self.connection.hset(self.key, SUPERVISOR_FIELD, str(os.getppid()))

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's beat, at most once per ``BEAT_EVERY_S`` on a round trip of its own (RQ beats
        three times per job that way, for a registration that lives minutes); a beat with a
        timeout of its own, or in a pipeline that goes anyway, is never skipped."""
        last = self.last_heartbeat
        recent = last is not None and (utcnow() - last).total_seconds() < BEAT_EVERY_S
        if pipeline is None and timeout is None and recent:
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        """RQ's state, written only when it changes (RQ sets ``idle`` after each job and again
        as it listens, a round trip each)."""
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Stop when idle; inside a job, drain first (see the class)."""
        ctx = installed()
        if self.get_state() == WorkerStatus.BUSY:
            if ctx is None:
                os._exit(128 + signum)
            log.warning("worker %s: draining (the run goes back to the queue)", self.name)
            ctx.drain()
            threading.Thread(target=_exit_after, args=(DRAIN_S, signum), daemon=True).start()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def teardown(self) -> None:
        """Deregister; told to stop, in one try that gives up within ``PARTING_S`` (its Redis
        may be gone or frozen: a stop is no time to wait an outage out, and the registration
        expires by itself)."""
        if self._shutdown_requested_date is not None:
            pool = self.connection.connection_pool
            pool.connection_kwargs.update(
                socket_timeout=PARTING_S, socket_connect_timeout=PARTING_S
            )
            pool.reset()  # the connections made from here on have the short timeouts
            self.connection.set_retry(Retry(NoBackoff(), 0))
        super().teardown()  # type: ignore[no-untyped-call]

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """A second stop signal: end the process now (RQ ignores one within a second of the
        first, as a Ctrl+C reaches this process from the terminal and the supervisor)."""
        shut = self._shutdown_requested_date
        if shut is not None and (utcnow() - shut).total_seconds() < 1:
            return
        os._exit(128 + signum)


def _exit_after(seconds: float, signum: int) -> None:
    """End the process if a drain takes longer than ``seconds`` (a node that does not end)."""
    time.sleep(seconds)
    log.warning("draining took longer than %.0fs: ending the work process", seconds)
    os._exit(128 + signum)


class SchedulerLoop:
    """RQ's scheduler (due veto windows, retries) in a thread, under a name stable across work
    processes: a replacement takes its predecessor's lock over at once."""

    def __init__(self, conn: redis.Redis, queue_name: str, name: str) -> None:
        self._scheduler = RQScheduler([queue_name], connection=conn, name=f"{name}-scheduler")
        self._conn = conn
        self._lock_key = RQScheduler.get_locking_key(queue_name)
        self._tried = 0.0

    def tick(self) -> None:
        """Take the lock (every 5 s while another scheduler has it), then enqueue what is due."""
        if not self._scheduler.acquired_locks and time.monotonic() - self._tried >= 5:
            self._tried = time.monotonic()
            self._free_a_dead_holders_lock()
            self._scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if self._scheduler.acquired_locks:
            self._scheduler.heartbeat()  # type: ignore[no-untyped-call]
            self._scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]

    def _free_a_dead_holders_lock(self) -> None:
        """Release the lock of a worker's scheduler that died on this host (SIGKILL, a crash),
        instead of waiting up to a minute for its TTL: its registration names this host and a
        process that no longer runs. A holder elsewhere, or alive, keeps it."""
        holder = self._conn.get(self._lock_key)
        owner = holder.decode() if isinstance(holder, bytes) else holder
        if not owner or not owner.endswith("-scheduler"):
            return
        key = Worker.redis_worker_namespace_prefix + owner.removesuffix("-scheduler")
        worker = Worker.find_by_key(key, connection=self._conn)
        if worker is None or worker.hostname != socket.gethostname() or worker.pid is None:
            return
        if not process_alive(worker.pid) and release_lock(self._conn, self._lock_key, owner):
            log.warning(
                "scheduler: took over the lock of %s (its process %s is gone)", owner, worker.pid
            )

    def forever(self, stop: threading.Event) -> None:
        """Tick every second until ``stop``."""
        said = LoopLog(log, "scheduler")
        while not stop.wait(1.0):
            try:
                self.tick()
            except Exception as exc:
                said.failed(exc)
            else:
                said.ok()
        self._scheduler.release_locks()  # type: ignore[no-untyped-call]


def _beat(worker: SimpleWorker) -> object:
    """Keeps the worker's registration alive during a long job (RQ beats between jobs)."""
    last = [time.monotonic()]

    def beat() -> None:
        if time.monotonic() - last[0] >= HEARTBEAT_S:
            last[0] = time.monotonic()
            worker.heartbeat()

    return beat


def work_process(url: str, queue_url: str, name: str, burst: bool, parent: int) -> int:
    """Execute jobs until stopped (or, ``burst``, until the queue is empty); the exit code."""
    _die_with_parent(parent)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)  # RQ installs its own when it starts working
    # A closed terminal hangs up on the supervisor too, which asks this process to drain.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = get_settings()
    queue_conn = sync_client(queue_url, socket_timeout=None)  # RQ blocks on its queue reads
    queue = Queue(settings.queue_name, connection=sync_client(queue_url))
    ctx = WorkContext(
        ControlPlane(connect(url)), sync_client(url), queue, name, on_hard_stop=exit_hard
    )
    install(ctx)
    worker = LeanWorker(
        [Queue(settings.queue_name, connection=queue_conn)], connection=queue_conn, name=name
    )
    scheduler = SchedulerLoop(queue_conn, settings.queue_name, name)
    stop = threading.Event()
    scheduling = threading.Thread(target=scheduler.forever, args=(stop,), daemon=True)
    if burst:
        scheduler.tick()
    else:
        adopt_unwatched(ctx.cp)
        every = max(settings.lease_ttl_s / 3, 0.5)
        scheduling.start()
        sweep = (ctx.cp, queue, every, stop, _beat(worker))
        threading.Thread(target=sweep_forever, args=sweep, daemon=True).start()
        start_notifier(url, settings, stop)
    reachable = True
    try:
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    except OUTAGE_ERRORS:
        reachable = False  # deregistering failed: nor can the scheduler release its lock
        raise
    finally:
        stop.set()
        if reachable and scheduling.is_alive():  # its lock released now, not a minute later:
            scheduling.join(timeout=2.0)  # another worker's scheduler takes it at its next tick
        install(None)
    return 0

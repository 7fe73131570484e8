"""RQ jobs: what a worker process keeps to execute them (the queue's side: ``queueing``).

A work process (``graph.runtime.worker``) installs its :class:`WorkContext` once: settings,
the state clients, the control plane, the executor (with its checkpointer and kill switches) and
the queue are built once per process, not per job. A job executed elsewhere (a plain
``rq worker``) falls back to clients on its job's connection, as many per job.

The queue may live on its own Redis (``WAYBILL_QUEUE_URL``): RQ's keys carry no hash tags, so
they cannot live on a Redis Cluster with the runs' state.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from rq import Queue
from rq.job import get_current_job

from graph.runtime.executor import ExecutorConfig, RunExecutor
from graph.runtime.principal import SYSTEM
from graph.runtime.queueing import enqueue_run
from graph.runtime.registry import Registry, default_registry
from graph.runtime.schedule import RqScheduler
from graph.runtime.service import RunService
from state.control.errors import ControlPlaneError
from state.control.plane import ControlPlane
from state.settings import get_settings

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 10.0


def make_service(cp: ControlPlane, queue: Queue, raw: redis.Redis | None = None) -> RunService:
    """The run service dispatching to ``queue`` (``raw``: the state's bytes client, for forks;
    the queue's connection when the queue shares the state's Redis)."""

    def dispatch(run_id: str) -> None:
        enqueue_run(queue, run_id)

    return RunService(cp, default_registry(), dispatch, raw=raw or queue.connection)


def client_like(raw: redis.Redis, *, decode: bool) -> redis.Redis:
    """A new client on the same server as ``raw`` (same credentials, same retry policy), with
    a socket timeout (RQ's connection has none, for its blocking queue reads)."""
    pool = raw.connection_pool
    kwargs = {
        **pool.connection_kwargs,
        "decode_responses": decode,
        "socket_timeout": SOCKET_TIMEOUT_S,
    }
    return redis.Redis(connection_pool=type(pool)(connection_class=pool.connection_class, **kwargs))


@dataclass
class WorkContext:
    """What a work process keeps between jobs."""

    cp: ControlPlane
    raw: redis.Redis
    queue: Queue
    worker: str
    registry: Registry = field(default_factory=default_registry)
    on_hard_stop: Callable[[str], None] | None = None
    executor: RunExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = RunExecutor(
            self.cp,
            self.raw,
            self.registry,
            worker=self.worker,
            config=ExecutorConfig.from_settings(get_settings()),
            schedule_veto=RqScheduler(self.queue),
            on_hard_stop=self.on_hard_stop,
            requeue=self.requeue,
        )

    def requeue(self, run_id: str) -> None:
        """Queue ``run_id`` again (handed back by a draining worker)."""
        enqueue_run(self.queue, run_id)

    def drain(self) -> None:
        """Hand the run in progress back to the queue at its next node boundary."""
        self.executor.draining.set()

    def close(self) -> None:
        """Close what the process opened."""
        self.executor.close()
        self.cp.close()
        self.raw.close()


_installed: WorkContext | None = None


def installed() -> WorkContext | None:
    """The context this process's jobs use, if a work process installed one."""
    return _installed


def install(context: WorkContext | None) -> None:
    """Make ``context`` what this process's jobs use (``None``: clients per job again)."""
    global _installed
    _installed = context


@contextmanager
def work_context() -> Iterator[WorkContext]:
    """The installed context, or one on the current job's connection (closed after)."""
    if _installed is not None:
        yield _installed
        return
    job = get_current_job()
    assert job is not None, "a Waybill job runs inside an RQ job"
    raw = client_like(job.connection, decode=False)
    queue = Queue(get_settings().queue_name, connection=job.connection)
    worker = job.worker_name or socket.gethostname()
    made = WorkContext(ControlPlane(client_like(raw, decode=True)), raw, queue, worker)
    try:
        yield made
    finally:
        made.close()


def execute_run(run_id: str) -> str:
    """RQ job: advance ``run_id`` until it waits, ends or is killed."""
    with work_context() as ctx:
        return ctx.executor.execute(run_id)


def veto_window_elapsed(run_id: str, escalation_id: str) -> str:
    """RQ job at the end of a notify-tier veto window: let the action run unless vetoed."""
    with work_context() as ctx:
        try:
            make_service(ctx.cp, ctx.queue, ctx.raw).decide(
                escalation_id,
                "approve",
                who=SYSTEM,
                comment="no veto within the window",
                run_id=run_id,
            )
            return "proceeded"
        except ControlPlaneError as exc:  # vetoed first (conflict), or the run ended
            return f"not proceeded: {exc}"

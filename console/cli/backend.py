"""What the command line opens to talk to Redis: control plane, queue, run service.

Use it as a context manager: on the way out it waits for runs this process executes inline, or,
when the command failed (e.g. Redis went away), gives them a moment and leaves.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

import redis
from rq import Queue, Worker

from console.cli.errors import CliError
from graph.runtime.queueing import QueueNeedsItsOwnRedis, enqueue_run, plain_queue, queue_url
from state.checkpoint.client import sync_client
from state.control.connection import connect
from state.control.errors import RedisUnavailable
from state.control.plane import ControlPlane
from state.embedded import EmbeddedRedis, resolve_redis_url
from state.settings import Settings, get_settings

if TYPE_CHECKING:
    from graph.runtime.executor import RunExecutor
    from graph.runtime.service import RunService

_QUEUE_HINT = "start it, or unset WAYBILL_QUEUE_URL to keep the queue in REDIS_URL's Redis"


@dataclass
class Backend:
    """Open connections of one command-line process."""

    url: str
    cp: ControlPlane
    raw: redis.Redis
    queue: Queue
    settings: Settings
    queue_url: str = ""
    """The queue's Redis (``WAYBILL_QUEUE_URL``, or the state's)."""
    embedded: EmbeddedRedis | None = None
    inline_threads: list[threading.Thread] = field(default_factory=list)
    inline_executors: list[RunExecutor] = field(default_factory=list)
    leave_inline: bool = False
    """Set when the user left an inline run inside its node: closing does not wait for it."""
    inline_errors: list[BaseException] = field(default_factory=list)
    """What stopped an inline execution (the run is left for a worker to resume)."""

    def workers_listening(self) -> int:
        """How many RQ workers listen on the runs queue right now."""
        return int(Worker.count(queue=self.queue))

    def service(self, *, inline: bool | None = None) -> RunService:
        """The run service; runs execute inline when no worker listens (or when asked)."""
        # Imported here: commands that only read (runs, kills, users) do not load LangGraph,
        # the executor and the workflows (about half a second of a command's start).
        from graph.runtime.registry import default_registry
        from graph.runtime.service import RunService

        use_inline = self.workers_listening() == 0 if inline is None else inline
        return RunService(
            self.cp, default_registry(), self._inline if use_inline else self._enqueue, raw=self.raw
        )

    def _enqueue(self, run_id: str) -> None:
        enqueue_run(self.queue, run_id)

    def _inline(self, run_id: str) -> None:
        from graph.runtime.executor import ExecutorConfig, RunExecutor
        from graph.runtime.registry import default_registry
        from graph.runtime.schedule import RqScheduler

        executor = RunExecutor(
            self.cp,
            self.raw,
            default_registry(),
            worker=f"inline-{os.getpid()}",
            config=ExecutorConfig.from_settings(self.settings),
            schedule_veto=RqScheduler(self.queue),  # timers fire on a worker, when one runs
            requeue=self._enqueue,  # a run handed back (Ctrl+C) waits there for a worker
        )
        self.inline_executors.append(executor)

        def execute() -> None:
            try:
                executor.execute(run_id)
            except Exception as exc:  # reported by nothing_executing(), not as a traceback
                self.inline_errors.append(exc)
            finally:
                executor.close()

        thread = threading.Thread(target=execute, daemon=True)
        thread.start()
        self.inline_threads.append(thread)

    def hand_back(self) -> None:
        """Ask this process's inline executions to stop at their next node and put their runs
        back in the queue (with their checkpoints), for a worker to resume."""
        for executor in self.inline_executors:
            executor.draining.set()

    def inline_busy(self) -> bool:
        """True while this process executes a run inline."""
        return any(t.is_alive() for t in self.inline_threads)

    def nothing_executing(self, run_id: str) -> str | None:
        """Why nothing will advance ``run_id`` now (followers stop on it), or ``None``.

        That is when this process's inline execution failed, or when no inline execution, no
        worker and no lease is left for a run that is still queued or running and has not
        changed for a lease TTL (another process may be about to take it).
        """
        if self.inline_busy():
            return None
        record = self.cp.runs.get(run_id)
        if record.status not in ("queued", "running"):
            return None
        if self.inline_errors:
            exc = self.inline_errors[-1]
            return (
                f"run {run_id} stopped executing in this process ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}); it stays {record.status} and a worker "
                "resumes it (`waybill worker`)"
            )
        idle_s = time.time() - record.updated_at.timestamp()
        if idle_s < self.settings.lease_ttl_s or self.workers_listening():
            return None
        if self.cp.leases.current(run_id) is not None:
            return None
        return (
            f"run {run_id} is {record.status} but nothing executes it (no worker is "
            "listening): start `waybill worker` to resume it"
        )

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(wait=exc_type is None and not self.leave_inline)

    def close(self, *, wait: bool = True) -> None:
        """Close the connections; ``wait`` for inline runs to stop first (else 1 s at most)."""
        for thread in self.inline_threads:
            thread.join(None if wait else 1.0)
        self.cp.close()
        self.raw.close()
        if self.embedded is not None:
            self.embedded.close()


def open_backend(settings: Settings | None = None) -> Backend:
    """Connect to REDIS_URL or the embedded server; one-line ``CliError`` when unreachable."""
    settings = settings or get_settings()
    try:
        url, embedded = resolve_redis_url(settings)
        cp = ControlPlane.from_url(url)
    except RedisUnavailable as exc:
        raise CliError(str(exc)) from None
    try:
        queue_at = checked_queue_url(url, cp.client)
    except CliError:
        cp.close()
        if embedded is not None:
            embedded.close()
        raise
    raw = sync_client(url)
    return Backend(
        url=url,
        cp=cp,
        raw=raw,
        queue=Queue(
            settings.queue_name, connection=sync_client(queue_at) if queue_at != url else raw
        ),
        queue_url=queue_at,
        settings=settings,
        embedded=embedded,
    )


def checked_queue_url(url: str, state: redis.Redis) -> str:
    """Where the runs queue lives (``queue_url``; ``state`` is a client on ``url``), its own
    Redis checked: one-line ``CliError`` when it is down or a node of a Redis Cluster."""
    try:
        queue_at = queue_url(url, state)
        if queue_at != url:  # the same quick check as REDIS_URL's, before clients that wait
            plain_queue(connect(queue_at, hint=_QUEUE_HINT), queue_at).close()
    except (QueueNeedsItsOwnRedis, RedisUnavailable) as exc:
        raise CliError(str(exc)) from None
    return queue_at

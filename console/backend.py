"""What the command line opens to talk to Redis: control plane, queue, run service."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import redis
from rq import Queue, Worker

from console.errors import CliError
from graph.executor import ExecutorConfig, RunExecutor
from graph.registry import default_registry
from graph.service import RunService
from graph.worker import enqueue_run
from state.checkpoint.client import sync_client
from state.control.errors import RedisUnavailable
from state.control.plane import ControlPlane
from state.embedded import EmbeddedRedis, resolve_redis_url
from state.settings import Settings, get_settings


@dataclass
class Backend:
    """Open connections of one command-line process."""

    url: str
    cp: ControlPlane
    raw: redis.Redis
    queue: Queue
    settings: Settings
    embedded: EmbeddedRedis | None = None
    inline_threads: list[threading.Thread] = field(default_factory=list)

    def workers_listening(self) -> int:
        return int(Worker.count(queue=self.queue))

    def service(self, *, inline: bool | None = None) -> RunService:
        """The run service; runs execute inline when no worker listens (or when asked)."""
        use_inline = self.workers_listening() == 0 if inline is None else inline
        return RunService(
            self.cp, default_registry(), self._inline if use_inline else self._enqueue, raw=self.raw
        )

    def _enqueue(self, run_id: str) -> None:
        enqueue_run(self.queue, run_id)

    def _inline(self, run_id: str) -> None:
        executor = RunExecutor(
            self.cp,
            self.raw,
            default_registry(),
            worker=f"inline-{os.getpid()}",
            config=ExecutorConfig.from_settings(self.settings),
        )
        thread = threading.Thread(target=executor.execute, args=(run_id,), daemon=True)
        thread.start()
        self.inline_threads.append(thread)

    def close(self) -> None:
        for thread in self.inline_threads:
            thread.join()
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
    raw = sync_client(url)
    return Backend(
        url=url,
        cp=cp,
        raw=raw,
        queue=Queue(settings.queue_name, connection=raw),
        settings=settings,
        embedded=embedded,
    )

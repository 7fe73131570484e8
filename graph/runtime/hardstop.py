"""Beside a running run: keep its lease alive, and hard-stop it when a kill is not obeyed.

The first stage is cooperative (every stage, gate and review checks the kill switches before it
runs). A node can take long (a slow model, a stuck tool), so a watcher thread beside the run
notices a tripped switch; if the run is still inside a node after the grace period, it records
the run as ``killed`` and has RQ stop the job (``send_stop_job_command``: the worker kills the
process running it).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Protocol

import redis
from rq.command import send_stop_job_command

from state.control.plane import ControlPlane
from state.stores.ledger import RedisLedger

if TYPE_CHECKING:
    from state.control.kills import KillWatcher


class Timing(Protocol):
    """How long a lease lives, and how long a kill waits for a node to stop on its own."""

    @property
    def lease_ttl_s(self) -> float:
        """Seconds a lease lives without renewal."""
        ...

    @property
    def kill_grace_s(self) -> float:
        """Seconds a node gets to stop on its own after a kill before it is hard-stopped."""
        ...


class Watched(Protocol):
    """What the watcher needs of the process running a run (the executor)."""

    cp: ControlPlane
    raw: redis.Redis
    job_id: str | None

    @property
    def config(self) -> Timing:
        """The lease and kill timings of the run."""
        ...

    def kill_reason(self, run_id: str, workflow: str, stage: str | None) -> str | None:
        """Why a kill switch stops the run now, or None."""
        ...

    def finish_killed(self, run_id: str, reason: str, token: int | None) -> None:
        """Record the run killed."""
        ...


log = logging.getLogger(__name__)


class HardStop:
    """Watches the kill switches for one run while it executes."""

    def __init__(self, executor: Watched, run_id: str, workflow: str, token: int) -> None:
        self._ex = executor
        self._run_id = run_id
        self._workflow = workflow
        self._token = token
        self._stage: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"hardstop-{run_id}", daemon=True)
        self.fired = False

    def at(self, stage: str) -> None:
        """The run is at ``stage`` now (so agent-scoped switches apply)."""
        self._stage = stage

    def start(self) -> None:
        """Start watching (a daemon thread, which also renews the lease)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; returns at once (the thread exits at its next poll)."""
        # Not joined: the thread notices within one poll and exits (it is a daemon); waiting
        # for it would add a poll interval to every run.
        self._done.set()

    def _renew(self) -> None:
        # The same thread keeps the run's lease alive: a worker that stops renewing (frozen,
        # dead) loses the run to another worker once the TTL passes.
        try:
            self._ex.cp.leases.renew(self._run_id, self._token, self._ex.config.lease_ttl_s)
        except Exception:
            log.warning("run %s: lease renewal failed", self._run_id, exc_info=True)

    def _watch(self) -> None:
        # A Redis blip must not end the watch: without it the lease is no longer renewed and
        # another worker would run the node still in flight here. Subscribe again and go on.
        while not self._done.is_set():
            try:
                with self._ex.cp.kills.subscribe() as nudges:
                    self._loop(nudges)
                return
            except (redis.ConnectionError, redis.TimeoutError):
                if self._done.is_set():
                    return
                log.warning("run %s: kill watcher lost Redis; watching again", self._run_id)
                self._done.wait(0.5)
            except Exception:
                if not self._done.is_set():  # after stop(), the connections may close under us
                    log.exception("run %s: kill watcher failed", self._run_id)
                return

    def _loop(self, nudges: KillWatcher) -> None:
        renewed = time.monotonic()
        tripped_at: float | None = None
        self._renew()
        while not self._done.is_set():
            if time.monotonic() - renewed >= self._ex.config.lease_ttl_s / 3:
                self._renew()
                renewed = time.monotonic()
            try:
                reason = self._ex.kill_reason(self._run_id, self._workflow, self._stage)
            except Exception:  # Redis blip: the next poll tries again
                if self._done.is_set():
                    return
                log.exception("kill check failed for run %s", self._run_id)
                reason = None
            if reason is None:
                tripped_at = None
            else:
                tripped_at = tripped_at or time.monotonic()
                if time.monotonic() - tripped_at >= self._ex.config.kill_grace_s:
                    self._fire(reason)
                    return
            nudges.get(timeout=0.25)

    def _actions_taken(self) -> str:
        """The run's side effects as its ledger has them: a node stopped mid-way cannot record
        the action it took, so the kill's reason does (done, or outcome unknown)."""
        try:
            entries = RedisLedger(self._ex.cp.client, self._run_id).entries()
        except redis.RedisError:
            return ""
        if not entries:
            return ""
        parts = [
            f"{key.split(':', 2)[-1]}: "
            + ("done" if e.result is not None else "outcome unknown (called, no result)")
            for key, e in sorted(entries.items())
        ]
        return "; actions already called: " + ", ".join(parts)

    def _fire(self, reason: str) -> None:
        if self._done.is_set():
            return  # the run reached a boundary and stopped on its own
        self.fired = True
        grace = self._ex.config.kill_grace_s
        taken = self._actions_taken()
        self._ex.finish_killed(
            self._run_id,
            f"{reason} (hard stop: still running {grace:g}s after){taken}",
            self._token,
        )
        # Releasing moves the fencing token on: the checkpoint the node still tries to write
        # when it returns is refused, so the killed run does not advance.
        self._ex.cp.leases.release(self._run_id, self._token)
        if self._ex.job_id is not None:
            log.warning("run %s: hard stop of job %s", self._run_id, self._ex.job_id)
            send_stop_job_command(self._ex.raw, self._ex.job_id)
        else:
            # Inline (no RQ job to stop): the run is recorded killed and its lease released;
            # the thread still inside the node finishes the node but can no longer write.
            log.warning("run %s: killed while inside a node (inline, no job to stop)", self._run_id)

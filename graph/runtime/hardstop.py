"""Beside running runs: keep their leases alive, and hard-stop one when a kill is not obeyed.

The first stage is cooperative (every stage, gate and review checks the kill switches before it
runs). A node can take long (a slow model, a stuck tool), so one thread per process (the
``Watchman``) follows the switches (the process's ``KillCache``: no round trip) for every run
the process executes; if a run is still inside a node after the grace period, it records the
run as ``killed``, releases the lease (so the node can no longer write) and asks the process to
stop what runs the node (``Watched.hard_stop``: a worker replaces its work process; an inline
execution has nothing to stop).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

from state.control.errors import LeaseLost
from state.control.killcache import KillCache
from state.control.outage import LoopLog
from state.control.plane import ControlPlane
from state.control.run_index import WATCH_KEY
from state.stores.ledger import RedisLedger


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

    def hard_stop(self, run_id: str) -> None:
        """Stop whatever still runs the run's node (or nothing, when nothing can be)."""
        ...


log = logging.getLogger(__name__)
POLL_S = 0.25


class HardStop:
    """One run watched: the stage it is at, when its lease was renewed, when a kill tripped."""

    def __init__(self, watchman: Watchman, run_id: str, workflow: str, token: int) -> None:
        self._watchman = watchman
        self.run_id = run_id
        self.workflow = workflow
        self.token = token
        self.stage: str | None = None
        self.renewed = time.monotonic()
        self.tripped_at: float | None = None
        self.fired = False
        self.done = False

    def at(self, stage: str) -> None:
        """The run is at ``stage`` now (so agent-scoped switches apply)."""
        self.stage = stage

    def start(self) -> None:
        """Start watching (the watchman's thread also renews the lease)."""
        self._watchman.add(self)

    def stop(self) -> None:
        """Stop watching; returns at once."""
        self.done = True
        self._watchman.remove(self)


class Watchman:
    """One thread beside an executor that watches every run it executes: renews their leases
    and hard-stops a run still inside a node ``kill_grace_s`` after a kill tripped. One thread
    for the process's lifetime, not one per run."""

    def __init__(self, executor: Watched, kills: KillCache) -> None:
        self._ex = executor
        self._kills = kills
        self._runs: set[HardStop] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._said = LoopLog(log, "watching runs")

    def watch(self, run_id: str, workflow: str, token: int) -> HardStop:
        """A handle for watching one run (``start`` it)."""
        return HardStop(self, run_id, workflow, token)

    def add(self, run: HardStop) -> None:
        """Watch ``run`` (starting the thread on first use)."""
        with self._lock:
            self._runs.add(run)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="watchman", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the thread within ``POLL_S`` (its executor is closing): the runs it watches
        are no longer renewed nor hard-stopped."""
        self._stopped.set()

    def remove(self, run: HardStop) -> None:
        """Stop watching ``run``."""
        with self._lock:
            self._runs.discard(run)

    def _loop(self) -> None:
        # A Redis blip must not end the watch: without it leases are no longer renewed and
        # another worker would run the nodes still in flight here.
        version = self._kills.version
        while not self._stopped.is_set():
            with self._lock:
                runs = list(self._runs)
            failures: list[Exception] = []
            for run in runs:
                try:
                    self._look(run)
                except Exception as exc:
                    failures.append(exc)
            # One verdict per round: on a Redis Cluster with a node down, the runs on the other
            # nodes still answer, and the log would say the outage ended and began again.
            for failure in failures:
                self._said.failed(failure)
            if runs and not failures:
                self._said.ok()
            version = self._kills.wait(version, POLL_S)

    def _look(self, run: HardStop) -> None:
        """Renew the run's lease when due, then hard-stop it if a kill's grace has passed; a
        failed renewal is raised after the kill check."""
        ttl = self._ex.config.lease_ttl_s
        failed: Exception | None = None
        if time.monotonic() - run.renewed >= ttl / 3:
            run.renewed = time.monotonic()  # failed or not, next due in a third of the TTL
            try:
                self._renew(run, ttl)
            except LeaseLost:
                # Another worker took the run (this one was frozen, or Redis was away longer
                # than the lease): its writes from here are refused by the fence. Said once.
                log.warning("run %s: lease lost to another worker; stopped renewing", run.run_id)
                self.remove(run)
                return
            except Exception as exc:
                failed = exc
        reason = self._ex.kill_reason(run.run_id, run.workflow, run.stage)
        if reason is None:
            run.tripped_at = None
        else:
            run.tripped_at = run.tripped_at or time.monotonic()
            if time.monotonic() - run.tripped_at >= self._ex.config.kill_grace_s:
                self._fire(run, reason)
        if failed is not None:
            raise failed

    def _renew(self, run: HardStop, ttl: float) -> None:
        # A worker that stops renewing (frozen, dead) loses the run to another worker once the
        # TTL passes; the sweepers' watch follows the lease's deadline.
        self._ex.cp.leases.renew(run.run_id, run.token, ttl)
        self._ex.cp.client.zadd(WATCH_KEY, {run.run_id: time.time() + ttl})

    def _actions_taken(self, run_id: str) -> str:
        """The run's side effects as its ledger has them: a node stopped mid-way cannot record
        the action it took, so the kill's reason does (done, or outcome unknown)."""
        try:
            entries = RedisLedger(self._ex.cp.client, run_id).entries()
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

    def _fire(self, run: HardStop, reason: str) -> None:
        if run.done:
            return  # the run reached a boundary and stopped on its own
        run.fired = True
        self.remove(run)
        grace = self._ex.config.kill_grace_s
        taken = self._actions_taken(run.run_id)
        try:
            self._ex.finish_killed(
                run.run_id,
                f"{reason} (hard stop: still running {grace:g}s after){taken}",
                run.token,
            )
            # Releasing moves the fencing token on: the checkpoint the node still tries to
            # write when it returns is refused, so the killed run does not advance.
            self._ex.cp.leases.release(run.run_id, run.token)
        except Exception:
            log.exception("run %s: could not record the hard stop", run.run_id)
        log.warning("run %s: hard stop (still inside a node after the grace period)", run.run_id)
        self._ex.hard_stop(run.run_id)

"""Execute one run on this process: lease, checkpoint in Redis, events, escalations, kills, holds.
Called by a worker's jobs (``graph.runtime.jobs``) and, when no worker is listening, inline by
``waybill run``. Any process can pick up any run (the state is in Redis; the lease's fencing
token lets one write at a time). An executor executes run after run: its checkpointer (one
pipelined connection, the tails of append-only lists) and its view of the kill switches
(``KillCache``) are kept between runs; each execution's Redis I/O is a ``RunSession``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import redis

from graph.act import WorkerCrash
from graph.chain import Chain
from graph.context import Paused, RunContext
from graph.runtime import endings
from graph.runtime.events import Progress
from graph.runtime.hardstop import HardStop, Watchman
from graph.runtime.recording import stream_events
from graph.runtime.registry import Registry, UnknownWorkflowError
from graph.runtime.resumption import resume_point
from graph.runtime.runner import compile_chain, initial_state, outcome_of, run_config
from graph.runtime.session import RunSession
from graph.runtime.stops import ScheduleVeto, outcome_from, settle
from graph.runtime.timing import ExecutorConfig as ExecutorConfig
from graph.telemetry.observer import RunObserver, default_observer
from state.checkpoint import RedisSaver, StaleFenceError
from state.control.errors import LeaseHeld, LeaseLost, RunFinished
from state.control.killcache import KillCache
from state.control.limits import Limits
from state.control.outage import OUTAGE_ERRORS
from state.control.plane import ControlPlane
from state.sources import Source
from state.status import TERMINAL_STATUSES, RunStatus

log = logging.getLogger(__name__)
Sources = Mapping[str, Source]

_REDIS_BACK = "redis-back"
"""What one execution returns when it waited out a Redis outage: execute again."""


class RunExecutor:
    """Runs (or resumes) runs to their next stop: an escalation, the end, a kill.

    Args:
        cp: The control plane.
        raw: A client without ``decode_responses`` (the checkpointer's).
        registry: The workflows.
        worker: The name this process holds leases under.
        config: Timings.
        schedule_veto: Schedules the end of a notify-tier veto window.
        on_hard_stop: Stops whatever runs a node that ignored a kill (a worker replaces its
            work process); without it a hard stop only records the run killed and fences it.
        requeue: Queues a run again (a run handed back when this process drains).
    """

    def __init__(
        self,
        cp: ControlPlane,
        raw: redis.Redis,
        registry: Registry,
        *,
        worker: str,
        config: ExecutorConfig,
        schedule_veto: ScheduleVeto | None = None,
        on_hard_stop: Callable[[str], None] | None = None,
        observer: RunObserver | None = None,
        requeue: Callable[[str], None] | None = None,
    ) -> None:
        self.cp = cp
        self.raw = raw
        self.registry = registry
        self.worker = worker
        self.config = config
        self.schedule_veto = schedule_veto
        self._on_hard_stop = on_hard_stop
        self.observer = observer if observer is not None else default_observer(cp)
        self.requeue = requeue
        self.draining = threading.Event()  # set as it stops: runs go back to the queue
        self._saver: RedisSaver | None = None
        self._kills: KillCache | None = None
        self._watchman: Watchman | None = None

    @property
    def saver(self) -> RedisSaver:
        """The process's checkpointer (made on first use, kept for every run)."""
        if self._saver is None:
            self._saver = RedisSaver(self.raw)
        return self._saver

    @property
    def kills(self) -> KillCache:
        """The kill switches as this process follows them (read on first use)."""
        if self._kills is None:
            self._kills = KillCache(self.cp.client)
            self._kills.start()
        return self._kills

    @property
    def watchman(self) -> Watchman:
        """The thread that renews leases and hard-stops runs (made on first use)."""
        if self._watchman is None:
            self._watchman = Watchman(self, self.kills)
        return self._watchman

    def close(self) -> None:
        """Stop watching runs and following the kill switches; close the checkpointer."""
        if self._watchman is not None:
            self._watchman.stop()
        if self._kills is not None:
            self._kills.close()
        if self._saver is not None:
            self._saver.close()

    def kill_reason(self, run_id: str, workflow: str, stage: str | None) -> str | None:
        """Why a kill switch stops this run now, or None (no round trip while none is set)."""
        switch = self.kills.confirmed(run_id=run_id, workflow=workflow, agent=stage)
        if switch is None:
            return None
        return (
            f"kill switch {switch.scope}:{switch.target} tripped by {switch.user}: {switch.reason}"
        )

    def pause_of(self, run_id: str, workflow: str, stage: str | None) -> Paused | None:
        """Why the run stops here without ending (a hold switch, a drain), or None."""
        switch = self.kills.confirmed(run_id=run_id, workflow=workflow, agent=stage, kind="hold")
        if switch is not None:
            why = f"hold switch {switch.scope}:{switch.target} by {switch.user}: {switch.reason}"
            return Paused("hold", why)
        if self.draining.is_set() and self.requeue is not None:
            return Paused("drain", f"worker {self.worker} stopped: handed back to the queue")
        return None

    def _pause(self, session: RunSession, paused: Paused) -> str:
        """Park a run ``held``, or hand it back to the queue (a drain); its checkpoint stays."""
        status: RunStatus = "held" if paused.kind == "hold" else "queued"
        log.warning("run %s: %s", session.run_id, paused.reason)
        session.update(status=status, reason=paused.reason, release=True)
        if paused.kind == "drain" and self.requeue is not None:
            self.requeue(session.run_id)
        return status

    def hard_stop(self, run_id: str) -> None:
        """Stop what runs ``run_id``'s node (``on_hard_stop``; inline, nothing can)."""
        if self._on_hard_stop is not None:
            self._on_hard_stop(run_id)
        else:
            log.warning("run %s: killed while inside a node (inline, nothing to stop)", run_id)

    def execute(self, run_id: str) -> str:
        """Advance ``run_id`` as far as it goes; returns the run's status afterwards.

        ``busy``: another worker holds its lease; ``lease-lost``: this one lost it midway. A
        Redis outage is waited out (``redis_outage_s``), then the run goes on.
        """
        while True:
            try:
                status = self._execute_once(run_id)
            except OUTAGE_ERRORS as exc:  # before or after its nodes: wait as inside one
                if not endings.wait_out(self.cp, run_id, exc, self.config.redis_outage_s):
                    raise
                status = _REDIS_BACK
            except WorkerCrash as crash:  # injected (``after_call``): do as the next worker
                log.warning("run %s: %s; resuming from the last checkpoint", run_id, crash)
                continue
            if status != _REDIS_BACK:
                return status
            log.warning("run %s: Redis is back; resuming from the last checkpoint", run_id)

    def _execute_once(self, run_id: str) -> str:
        session = RunSession(self.saver.wire, run_id, retention_s=self.cp.runs.retention_s)
        try:
            begun = session.begin(self.worker, self.config.lease_ttl_s)
        except LeaseHeld:
            return "busy"
        if begun.intents:
            self.cp.complete(run_id)  # what its last transition left to do (an audit entry)
        if not begun.token:
            return begun.old  # finished
        assert begun.record is not None
        workflow = begun.record.workflow
        stopper = self.watchman.watch(run_id, workflow, begun.token)
        stopper.start()
        try:
            self.observer.started(run_id, begun.record, self.worker)
            reason = self.kill_reason(run_id, workflow, None)
            if reason:
                self.finish_killed(run_id, reason, token=begun.token)
                return "killed"
            paused = self.pause_of(run_id, workflow, None)
            if paused is not None:
                return self._pause(session, paused)
            # The registered chain (its compiled graph is cached); its sources, per run.
            try:
                chain = self.registry.get(workflow)
            except UnknownWorkflowError as exc:  # a worker without the workflow's module
                why = endings.unknown_here(exc, self.worker)
                return endings.record_failed(self.cp, run_id, begun.token, why)
            return self._guarded(chain, session, stopper, chain.sources())
        finally:
            self.observer.ended(run_id)
            stopper.stop()
            try:
                session.release(clean=True)
            except redis.RedisError:
                log.warning("run %s: could not release its lease (it will expire)", run_id)

    def _guarded(
        self, chain: Chain, session: RunSession, stopper: HardStop, sources: Sources
    ) -> str:
        run_id, token = session.run_id, session.token
        try:
            return self._advance(chain, session, stopper, sources)
        except Paused as paused:  # raised by a node boundary (``graph.compiler.guarded``)
            return self._pause(session, paused)
        except (StaleFenceError, LeaseLost):
            log.warning("run %s: lease lost, another worker owns it now", run_id)
            return "lease-lost"
        except RunFinished as exc:
            return f"finished: {exc}"
        except OUTAGE_ERRORS as exc:
            # The clients' retries could not outlast it; every acknowledged checkpoint stays.
            if endings.redis_back(self.cp, self.config.redis_outage_s, run_id):
                return _REDIS_BACK
            return endings.lost_redis(self.cp, run_id, token, exc, self.config.redis_outage_s)
        except Exception as exc:
            # A broken node (a damaged checkpoint, a bug): a retry would fail the same way.
            log.exception("run %s: a node raised", run_id)
            reason = f"the run failed in a node: {type(exc).__name__}: {exc}"
            return endings.record_failed(self.cp, run_id, token, reason)

    def _context(
        self,
        chain: Chain,
        session: RunSession,
        inject: str | None,
        stopper: HardStop,
        sources: Sources,
    ) -> RunContext:
        def should_stop(stage: str) -> str | None:  # as every node starts: where the run is
            stopper.at(stage)
            session.at_stage(stage)
            return self.kill_reason(session.run_id, chain.name, stage)

        ctx = session.context(sources, inject, should_stop)
        ctx.should_pause = lambda stage: self.pause_of(session.run_id, chain.name, stage)
        ctx.veto_window_s = self.config.veto_window_s
        ctx.limits = Limits(self.cp.client).of(chain.name)
        return ctx

    def _advance(
        self, chain: Chain, session: RunSession, stopper: HardStop, sources: Sources
    ) -> str:
        run_id = session.run_id
        begun = session.begun
        assert begun is not None
        fresh = run_id if begun.at == "start" else None  # known to have no checkpoint yet
        graph = compile_chain(chain, self.saver.with_fence(session.token, empty=fresh))
        config = run_config(run_id, self.config.recursion_limit)
        request, inject = session.inputs()
        ctx = self._context(chain, session, inject, stopper, sources)
        nodes = chain.nodes()
        nxt: list[str] = []
        if begun.at == "start":  # no checkpoint yet: a new run (no state to read)
            payload: Any = initial_state(chain, run_id, request)
        else:
            found = resume_point(
                self.cp, chain, graph, config, session, request, self.schedule_veto, self.observer
            )
            if isinstance(found, str):
                return found  # waiting for a human, or over
            payload, nxt = found
        if begun.attempt > self.config.max_attempts:
            reason = endings.poison_reason(begun.attempt, nxt)
            return endings.record_failed(self.cp, run_id, session.token, reason)
        saver, start = graph.checkpointer, begun.at
        assert isinstance(saver, RedisSaver)

        def ran_from() -> str:
            return saver.ran_from(run_id) or start

        progress = Progress()
        written = self.observer.node
        stream_events(graph, payload, config, ctx, nodes, session, progress, ran_from, written)
        outcome = outcome_from(run_id, progress) or outcome_of(graph, run_id, config)
        if outcome.pending is None and outcome.status not in TERMINAL_STATUSES:
            nxt = list(graph.get_state(config).next)  # a run that stopped with no outcome
        return settle(self.cp, session, outcome, nxt, self.schedule_veto)

    def finish_killed(self, run_id: str, reason: str, token: int | None) -> None:
        """Record the run ``killed`` (fenced by ``token`` when given); a finished run stays."""
        with contextlib.suppress(RunFinished):
            self.cp.runs.update(run_id, status="killed", reason=reason, fence=token)

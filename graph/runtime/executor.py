"""Execute one run on this process: lease, checkpoint in Redis, events, escalations, kills.

Called by the RQ job (``graph.runtime.worker.execute_run``) and, when no worker is listening,
inline by ``waybill run``. Any process can pick up any run: the state is in Redis, and the
lease's fencing token makes sure only one of them writes at a time.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from langchain_core.runnables import RunnableConfig

from graph.act import WorkerCrash
from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.endings import record_failed
from graph.runtime.events import saved_updates, stream_committed, write_node_event
from graph.runtime.hardstop import HardStop
from graph.runtime.registry import Registry
from graph.runtime.runner import Compiled, compile_chain, initial_state, run_config
from graph.runtime.stops import (
    ScheduleVeto,
    count_attempt,
    decision_command,
    escalation_id,
    settle,
    wait_for_human,
)
from graph.tape import Tape
from graph.telemetry.observer import RunObserver, default_observer
from state.checkpoint import RedisSaver, StaleFenceError
from state.control.errors import LeaseHeld, LeaseLost, RunFinished
from state.control.inputs import RunInputs
from state.control.limits import Limits
from state.control.plane import ControlPlane
from state.nodes import NodeRef
from state.settings import Settings
from state.status import TERMINAL_STATUSES
from state.stores.ledger import RedisLedger
from state.stores.runstore import RedisRunStore, bind_sources
from state.stores.tape import RedisTapeStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorConfig:
    """Timing knobs of run execution."""

    lease_ttl_s: float = 10.0
    kill_grace_s: float = 5.0
    veto_window_s: float = 30.0
    recursion_limit: int = 200
    redis_outage_s: float = 60.0
    """How long a run waits for a Redis that went away, to resume from its last checkpoint;
    a longer outage fails the run, recorded as soon as Redis answers."""
    max_attempts: int = 3
    """Executions from the same checkpoint before the run is recorded failed (poison run)."""

    @classmethod
    def from_settings(cls, s: Settings) -> ExecutorConfig:
        """The knobs as the process's settings set them."""
        return cls(
            lease_ttl_s=s.lease_ttl_s,
            kill_grace_s=s.kill_grace_s,
            veto_window_s=s.veto_window_s,
            recursion_limit=s.recursion_limit,
            max_attempts=s.max_attempts,
            redis_outage_s=s.redis_outage_s,
        )


_REDIS_BACK = "redis-back"
"""What one execution returns when it waited out a Redis outage: execute again."""


class RunExecutor:
    """Runs (or resumes) one run to its next stop: an escalation, the end, a kill."""

    def __init__(
        self,
        cp: ControlPlane,
        raw: redis.Redis,
        registry: Registry,
        *,
        worker: str,
        config: ExecutorConfig,
        job_id: str | None = None,
        schedule_veto: ScheduleVeto | None = None,
        observer: RunObserver | None = None,
    ) -> None:
        self.cp = cp
        self.raw = raw
        self.registry = registry
        self.worker = worker
        self.config = config
        self.job_id = job_id
        self.schedule_veto = schedule_veto
        self.observer = observer if observer is not None else default_observer(cp)

    def kill_reason(self, run_id: str, workflow: str, stage: str | None) -> str | None:
        """Why a kill switch stops this run now, or None."""
        switch = self.cp.kills.check(run_id=run_id, workflow=workflow, agent=stage)
        if switch is None:
            return None
        return (
            f"kill switch {switch.scope}:{switch.target} tripped by {switch.user}: {switch.reason}"
        )

    def execute(self, run_id: str) -> str:
        """Advance ``run_id`` as far as it goes; returns the run's status afterwards.

        Returns ``busy`` when another worker holds the run's lease, ``lease-lost`` when this one
        lost it midway (its writes were refused; the holder carries on). A Redis outage is
        waited out (``redis_outage_s``) and the run resumed from its last checkpoint.
        """
        while True:
            status = self._execute_once(run_id)
            if status != _REDIS_BACK:
                return status
            log.warning("run %s: Redis is back; resuming from the last checkpoint", run_id)

    def _execute_once(self, run_id: str) -> str:
        record = self.cp.runs.get(run_id)
        self.cp.complete(run_id)  # what its last transition left to do (an audit entry)
        if record.status in TERMINAL_STATUSES:
            return record.status
        reason = self.kill_reason(run_id, record.workflow, None)
        if reason:
            self.finish_killed(run_id, reason, token=None)
            return "killed"
        try:
            token = self.cp.leases.acquire(run_id, self.worker, self.config.lease_ttl_s)
        except LeaseHeld:
            return "busy"
        stopper = HardStop(self, run_id, record.workflow, token)
        stopper.start()
        try:
            self.cp.runs.update(run_id, status="running", worker=self.worker, fence=token)
            self.observer.started(run_id, record, self.worker)
            # The registered chain (not a fresh build): its compiled graph is cached; sources
            # are built per run by the context.
            chain = self.registry.get(record.workflow)
            return self._advance(chain, run_id, token, stopper)
        except (StaleFenceError, LeaseLost):
            log.warning("run %s: lease lost, another worker owns it now", run_id)
            return "lease-lost"
        except RunFinished as exc:
            return f"finished: {exc}"
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # The clients already retried with backoff; the outage outlasted them. Every
            # acknowledged checkpoint is kept: wait for Redis, then go on from the last one.
            if self._redis_back(self.config.redis_outage_s):
                return _REDIS_BACK
            return self._lost_redis(run_id, token, exc)
        except Exception as exc:
            # Agents' and checks' failures are verdicts already; what reaches here is a broken
            # node (a damaged checkpoint, a bug). Retrying it would fail the same way: the run
            # ends, with the error, instead of looping on the queue.
            log.exception("run %s: a node raised", run_id)
            reason = f"the run failed in a node: {type(exc).__name__}: {exc}"
            return self._fail(run_id, token, reason)
        finally:
            self.observer.ended(run_id)
            stopper.stop()
            try:
                self.cp.leases.release(run_id, token)
            except redis.RedisError:
                log.warning("run %s: could not release its lease (it will expire)", run_id)

    def _redis_back(self, within_s: float) -> bool:
        """Whether Redis answers again within ``within_s`` seconds."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                self.cp.client.ping()
                return True
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(1.0)
        return False

    def _lost_redis(self, run_id: str, token: int, exc: Exception) -> str:
        """Record the run failed, with the reason, as soon as Redis answers again.

        Every checkpoint written before the outage was acknowledged and stays: the run can be
        forked from its last one. If Redis does not answer for ten times the wait, the error
        propagates (a sweeper re-queues the run when Redis is back).
        """
        reason = (
            f"lost the connection to Redis for more than {self.config.redis_outage_s:g}s "
            f"mid-run ({type(exc).__name__}: {exc}); the last acknowledged checkpoint is kept "
            "(waybill history / fork to go on)"
        )
        if not self._redis_back(max(600.0, 10 * self.config.redis_outage_s)):
            raise exc
        return record_failed(self.cp, run_id, token, reason)

    def _context(
        self, chain: Chain, run_id: str, inject: str | None, token: int, stopper: HardStop
    ) -> RunContext:
        current: list[str] = []

        def should_stop(stage: str) -> str | None:
            # Called as every node starts: the registry shows where the run is right now.
            stopper.at(stage)
            if current != [stage]:
                self.cp.runs.update(run_id, stage=stage, fence=token)
                current[:] = [stage]
            return self.kill_reason(run_id, chain.name, stage)

        sources = chain.sources()
        bind_sources(sources, lambda name: RedisRunStore(self.cp.client, run_id, name))
        return RunContext(
            run_id=run_id,
            inject=inject,
            sources=sources,
            ledger=RedisLedger(self.cp.client, run_id),
            should_stop=should_stop,
            veto_window_s=self.config.veto_window_s,
            tape=Tape(RedisTapeStore(self.raw, run_id)),
            limits=Limits(self.cp.client).of(chain.name),
        )

    def _advance(self, chain: Chain, run_id: str, token: int, stopper: HardStop) -> str:
        saver = RedisSaver(self.raw).with_fence(token)
        graph = compile_chain(chain, saver)
        config = run_config(run_id, self.config.recursion_limit)
        request, inject = RunInputs(self.cp.client).get(run_id)
        ctx = self._context(chain, run_id, inject, token, stopper)
        snap = graph.get_state(config)
        nodes = chain.nodes()
        if snap.values:
            # A worker may have died between a checkpoint and its events: write them now.
            for key, node, update in saved_updates(graph, config, partial(self._evented, run_id)):
                self._event(run_id, key, nodes[node], update)
        payload: Any = None
        if not snap.values:
            payload = initial_state(chain, run_id, request)
        elif snap.interrupts:
            payload = decision_command(self.cp, run_id, snap.interrupts[0].id)
            if payload is None:
                return wait_for_human(
                    self.cp, graph, run_id, config, token, self.schedule_veto
                )  # not decided yet
            self.observer.decided(run_id, escalation_id(run_id, snap.interrupts[0].id))
        elif not (snap.next or snap.tasks):
            # ``next`` leaves out tasks whose writes were saved before a crash (they are not
            # run again, but the run is not over): ``tasks`` still lists them.
            return settle(self.cp, graph, run_id, config, token, self.schedule_veto)
        attempt = count_attempt(self.cp, run_id, snap.config)
        if attempt > self.config.max_attempts:
            nxt = ", ".join(snap.next) or "the start"
            reason = (
                f"poison run: {attempt - 1} executions from the same checkpoint (at {nxt}) made "
                "no progress (the worker died each time); not retried again"
            )
            return self._fail(run_id, token, reason)
        self._stream(graph, payload, config, ctx, nodes)
        return settle(self.cp, graph, run_id, config, token, self.schedule_veto)

    def _stream(
        self,
        graph: Compiled,
        payload: Any,
        config: RunnableConfig,
        ctx: RunContext,
        nodes: dict[str, NodeRef],
    ) -> None:
        """Run the graph from ``payload`` to its next stop, with an event per committed node."""
        while True:
            try:
                for key, node, update in stream_committed(graph, payload, config, ctx):
                    self._event(ctx.run_id, key, nodes[node], update)
                return
            except WorkerCrash as crash:
                # An injected worker death (``after_call`` faults): go on from the last
                # checkpoint, as the next worker would.
                log.warning("run %s: %s; resuming from the last checkpoint", ctx.run_id, crash)
                payload = None

    def _event(self, run_id: str, key: str, node: NodeRef, update: dict[str, Any]) -> None:
        write_node_event(self.cp, run_id, key, node, update, self.observer.node)

    def _evented(self, run_id: str, key: str) -> bool:
        return self.cp.events.appended(run_id, key)

    def _fail(self, run_id: str, token: int, reason: str) -> str:
        return record_failed(self.cp, run_id, token, reason)

    def finish_killed(self, run_id: str, reason: str, token: int | None) -> None:
        """Record the run ``killed`` (fenced by ``token`` when given); a finished run stays."""
        with contextlib.suppress(RunFinished):
            self.cp.runs.update(run_id, status="killed", reason=reason, fence=token)

"""Execute one run on this process: lease, checkpoint in Redis, events, escalations, kills.

Called by the RQ job (``graph.worker.execute_run``) and, when no worker is listening, inline by
``waybill run``. Any process can pick up any run: the state is in Redis, and the lease's fencing
token makes sure only one of them writes at a time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import redis

from graph.act import WorkerCrash
from graph.chain import Chain
from graph.context import RunContext
from graph.endings import record_failed
from graph.events import node_event, saved_updates, stream_committed
from graph.hardstop import HardStop
from graph.ledger import RedisLedger
from graph.registry import Registry
from graph.runner import (
    compile_chain,
    initial_state,
    outcome_of,
    resume_command,
    run_config,
)
from graph.runstore import RedisRunStore, bind_sources
from graph.tape import RedisTapeStore, Tape
from state.checkpoint import RedisSaver, StaleFenceError
from state.control.errors import LeaseHeld, LeaseLost, RunFinished, UnknownEscalation
from state.control.inputs import RunInputs
from state.control.models import TERMINAL_STATUSES
from state.control.plane import ControlPlane
from state.decisions import Decision
from state.keys import run_key
from state.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorConfig:
    """Timing knobs of run execution."""

    lease_ttl_s: float = 10.0
    kill_grace_s: float = 5.0
    veto_window_s: float = 30.0
    recursion_limit: int = 200
    lost_redis_window_s: float = 60.0
    """How long to keep trying to record a run failed after Redis went away."""
    max_attempts: int = 3
    """Executions from the same checkpoint before the run is recorded failed (poison run)."""

    @classmethod
    def from_settings(cls, s: Settings) -> ExecutorConfig:
        return cls(
            lease_ttl_s=s.lease_ttl_s,
            kill_grace_s=s.kill_grace_s,
            veto_window_s=s.veto_window_s,
            recursion_limit=s.recursion_limit,
            max_attempts=s.max_attempts,
        )


def escalation_id(run_id: str, interrupt_id: str) -> str:
    """Escalation ids are global: the run id makes an interrupt's id unique across runs."""
    return f"{run_id}.{interrupt_id}"


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
        schedule_veto: Callable[[str, str, datetime], None] | None = None,
    ) -> None:
        self.cp = cp
        self.raw = raw
        self.registry = registry
        self.worker = worker
        self.config = config
        self.job_id = job_id
        self.schedule_veto = schedule_veto

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
        lost it midway (its writes were refused; the holder carries on).
        """
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
            # The clients already retried with backoff; the outage outlasted them.
            return self._lost_redis(run_id, token, exc)
        except Exception as exc:
            # Agents' and checks' failures are verdicts already; what reaches here is a broken
            # node (a damaged checkpoint, a bug). Retrying it would fail the same way: the run
            # ends, with the error, instead of looping on the queue.
            log.exception("run %s: a node raised", run_id)
            reason = f"the run failed in a node: {type(exc).__name__}: {exc}"
            return self._fail(run_id, token, reason)
        finally:
            stopper.stop()
            try:
                self.cp.leases.release(run_id, token)
            except redis.RedisError:
                log.warning("run %s: could not release its lease (it will expire)", run_id)

    def _lost_redis(self, run_id: str, token: int, exc: Exception) -> str:
        """Record the run as failed with the reason once Redis answers again.

        Every checkpoint written before the outage was acknowledged and stays: the run can be
        forked from its last one. If Redis does not come back within the window, the error
        propagates (RQ's retry, or the orphan sweeper, picks the run up later).
        """
        reason = (
            f"lost the connection to Redis mid-run ({type(exc).__name__}: {exc}); the last "
            "acknowledged checkpoint is kept (waybill history / fork to go on)"
        )
        try:
            return record_failed(
                self.cp, run_id, token, reason, wait_s=self.config.lost_redis_window_s
            )
        except (redis.ConnectionError, redis.TimeoutError):
            raise exc from None

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
        )

    def _advance(self, chain: Chain, run_id: str, token: int, stopper: HardStop) -> str:
        saver = RedisSaver(self.raw).with_fence(token)
        graph = compile_chain(chain, saver)
        config = run_config(run_id, self.config.recursion_limit)
        request, inject = RunInputs(self.cp.client).get(run_id)
        ctx = self._context(chain, run_id, inject, token, stopper)
        snap = graph.get_state(config)
        if snap.values:
            # A worker may have died between a checkpoint and its events: write them now.
            for key, node, update in saved_updates(graph, config, partial(self._evented, run_id)):
                self._event(run_id, key, node, update)
        payload: Any = None
        if not snap.values:
            payload = initial_state(chain, run_id, request)
        elif snap.interrupts:
            payload = self._decision(run_id, snap.interrupts[0].id)
            if payload is None:
                return self._wait(graph, run_id, config, token)  # not decided yet
        elif not (snap.next or snap.tasks):
            # ``next`` leaves out tasks whose writes were saved before a crash (they are not
            # run again, but the run is not over): ``tasks`` still lists them.
            return self._settle(graph, run_id, config, token)
        attempt = self._attempt(run_id, snap.config)
        if attempt > self.config.max_attempts:
            nxt = ", ".join(snap.next) or "the start"
            reason = (
                f"poison run: {attempt - 1} executions from the same checkpoint (at {nxt}) made "
                "no progress (the worker died each time); not retried again"
            )
            return self._fail(run_id, token, reason)
        while True:
            try:
                for key, node, update in stream_committed(graph, payload, config, ctx):
                    self._event(run_id, key, node, update)
                break
            except WorkerCrash as crash:
                # An injected worker death (``after_call`` faults): go on from the last
                # checkpoint, as the next worker would.
                log.warning("run %s: %s; resuming from the last checkpoint", run_id, crash)
                payload = None
        return self._settle(graph, run_id, config, token)

    def _decision(self, run_id: str, interrupt_id: str) -> Any:
        """The resume command for the run's pending question, or None while undecided."""
        try:
            esc = self.cp.escalations.get(escalation_id(run_id, interrupt_id), run_id=run_id)
        except UnknownEscalation:
            return None
        if esc.decision is None:
            return None
        d = esc.decision
        decision = Decision(action=d.action, user=d.user, comment=d.comment or "", edited=d.edited)
        return resume_command(interrupt_id, decision)

    def _event(self, run_id: str, key: str, node: str, update: dict[str, Any]) -> None:
        self.cp.events.append_once(run_id, key, "node", stage=node, data=node_event(node, update))

    def _evented(self, run_id: str, key: str) -> bool:
        return self.cp.events.appended(run_id, key)

    def _attempt(self, run_id: str, at: Any) -> int:
        """Count an execution from checkpoint ``at`` (a new run counts from ``start``)."""
        checkpoint = (at or {}).get("configurable", {}).get("checkpoint_id") or "start"
        key = run_key(run_id, "attempts", str(checkpoint))
        pipe = self.cp.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, 7 * 24 * 3600)
        count, _ = pipe.execute()
        return int(count)

    def _fail(self, run_id: str, token: int, reason: str) -> str:
        return record_failed(self.cp, run_id, token, reason)

    def _wait(self, graph: Any, run_id: str, config: Any, token: int) -> str:
        outcome = outcome_of(graph, run_id, config)
        assert outcome.pending is not None
        assert outcome.interrupt_id is not None
        req = outcome.pending
        esc_id = escalation_id(run_id, outcome.interrupt_id)
        self.cp.escalations.create(
            run_id,
            req.kind if req.tier != "notify" else "veto",
            {**req.model_dump(mode="json"), "interrupt_id": outcome.interrupt_id},
            stage=req.stage,
            escalation_id=esc_id,
        )
        self.cp.runs.update(run_id, status="waiting", stage=req.stage, fence=token)
        if req.tier == "notify" and req.deadline is not None and self.schedule_veto is not None:
            self.schedule_veto(run_id, esc_id, req.deadline)
        return "waiting"

    def _settle(self, graph: Any, run_id: str, config: Any, token: int) -> str:
        outcome = outcome_of(graph, run_id, config)
        if outcome.pending is not None:
            return self._wait(graph, run_id, config, token)
        if outcome.status in TERMINAL_STATUSES:
            status, reason = outcome.status, outcome.state.get("reason", "") or ""
        else:
            # The graph stopped with no outcome and no question for a human: never a success.
            nxt = ", ".join(graph.get_state(config).next) or "nothing"
            status = "failed"
            reason = f"the run stopped without an outcome (status {outcome.status}, next: {nxt})"
            log.error("run %s: %s", run_id, reason)
        self.cp.runs.update(run_id, status=status, reason=reason, fence=token)
        return status

    def finish_killed(self, run_id: str, reason: str, token: int | None) -> None:
        """Record the run ``killed`` (fenced by ``token`` when given); a finished run stays."""
        with contextlib.suppress(RunFinished):
            self.cp.runs.update(run_id, status="killed", reason=reason, fence=token)

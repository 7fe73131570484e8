"""Where a run that has checkpoints goes on from when a worker takes it up again."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.chain import Chain
from graph.runtime.recording import repair_events
from graph.runtime.runner import Compiled, initial_state, outcome_of
from graph.runtime.session import RunSession
from graph.runtime.stops import (
    ScheduleVeto,
    decision_command,
    escalation_id,
    settle,
    wait_for_human,
)
from graph.telemetry.observer import RunObserver
from state.control.plane import ControlPlane
from state.keys import run_key


def resume_point(
    cp: ControlPlane,
    chain: Chain,
    graph: Compiled,
    config: RunnableConfig,
    session: RunSession,
    request: dict[str, Any],
    schedule_veto: ScheduleVeto | None,
    observer: RunObserver,
) -> tuple[Any, list[str]] | str:
    """Where a run with checkpoints goes on from: ``(payload, next nodes)``, or the status
    it stays in (waiting for a decision not taken yet, or over)."""
    run_id = session.run_id
    snap = graph.get_state(config)
    if not snap.values:
        return initial_state(chain, run_id, request), []
    # A worker may have died between a checkpoint and its events: write them now.
    evented = {str(k) for k in cp.client.smembers(run_key(run_id, "evented"))}
    repair_events(graph, config, session, chain.nodes(), evented, observer.node)
    if snap.interrupts:
        payload = decision_command(cp, run_id, snap.interrupts[0].id)
        if payload is None:  # not decided yet
            outcome = outcome_of(graph, run_id, config)
            return wait_for_human(cp, session, outcome, schedule_veto)
        observer.decided(run_id, escalation_id(run_id, snap.interrupts[0].id))
        return payload, list(snap.next)
    if not (snap.next or snap.tasks):
        # ``next`` leaves out tasks whose writes were saved before a crash (they are not
        # run again, but the run is not over): ``tasks`` still lists them.
        outcome = outcome_of(graph, run_id, config)
        return settle(cp, session, outcome, list(snap.next), schedule_veto)
    return None, list(snap.next)

"""Replay a recorded run from its tape: no model call, no tool call, no side effect.

The replay re-runs the whole chain in memory with the run's input and injected fault; every
agent answer, source read and human decision comes from the run's tape, and the actions'
recorded results stand in for the actions. Gates are evaluated live, so a replay after a change
to a gate (or a check) shows exactly what the change would have done to that run: any
difference with the recorded run is reported as a divergence.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver

from graph.chain import Chain
from graph.context import RunContext
from graph.runtime.fork import put_tuple
from graph.runtime.history import reading
from graph.runtime.registry import Registry
from graph.runtime.runner import (
    Compiled,
    RunOutcome,
    compile_chain,
    continue_chain,
    run_chain,
    run_config,
)
from graph.tape import Tape, TapeMissingError
from state.checkpoint import RedisSaver
from state.control.inputs import RunInputs
from state.control.limits import Limits
from state.control.plane import ControlPlane
from state.decisions import Decision, EscalationRequest
from state.run_events import HumanDecided
from state.stores.ledger import LedgerEntry, MemoryLedger, RedisLedger
from state.stores.tape import MemoryTapeStore, RedisTapeStore
from state.verdicts import GateVerdict


@dataclass
class ReplayReport:
    """What a replay found."""

    run_id: str
    recorded_status: str
    replayed_status: str
    divergences: list[str] = field(default_factory=list)
    live_calls: int = 0
    """Agent calls or source reads the replay had to make live (0 for a faithful replay)."""
    recorded: list[str] = field(default_factory=list)
    """The recorded run as comparable lines (handoffs, verdicts, human decisions, actions)."""
    replayed: list[str] = field(default_factory=list)
    """The replayed run as the same kind of lines."""
    assumed: int = 0
    """Source reads a what-if replay assumed (see ``replay_run``)."""

    @property
    def identical(self) -> bool:
        """True when the replay made the same run without a single live call."""
        return not self.divergences and self.live_calls == 0


def _trace(state: dict[str, Any]) -> list[str]:
    """The run as comparable lines: handoffs, verdicts, human decisions, actions, outcome."""
    lines = [
        f"handoff #{h['seq']} {h['stage']}->{h['target']} by {h['by']} {h['hash'][:12]}"
        for h in state.get("handoffs", [])
    ]
    lines += [
        f"verdict {v.node} #{v.handoff_seq}: {v.decision} {','.join(v.mast)}"
        for v in map(GateVerdict.model_validate, state.get("verdicts", []))
    ]
    lines += [
        f"human {h.node}: {h.decision.action} by {h.decision.user}"
        for h in map(HumanDecided.model_validate, state.get("human", []))
    ]
    lines += [
        f"action {a['action']} [{a['tier']}]: {a['status']}" for a in state.get("actions", [])
    ]
    lines.append(f"status {state.get('status')}: {state.get('reason', '')}")
    return lines


Row = tuple[str, str, bool]
"""One line of a side-by-side comparison: recorded, replayed, and whether they are the same."""


def side_by_side(recorded: list[str], replayed: list[str]) -> list[Row]:
    """The two traces aligned line by line (a line missing on one side is empty there)."""
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=recorded, b=replayed, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        left, right = recorded[a1:a2], replayed[b1:b2]
        for n in range(max(len(left), len(right))):
            a = left[n] if n < len(left) else ""
            b = right[n] if n < len(right) else ""
            rows.append((a, b, op == "equal"))
    return rows


def compare(recorded: dict[str, Any], replayed: dict[str, Any]) -> list[str]:
    """Lines present in one run's trace and not in the other's, in order."""
    a, b = _trace(recorded), _trace(replayed)
    out = [f"recorded only: {line}" for line in a if line not in b]
    out += [f"replay only:   {line}" for line in b if line not in a]
    return out


def recorded_ledger(
    recorded: Mapping[str, Any], called: Mapping[str, LedgerEntry] | None = None
) -> MemoryLedger:
    """The results of a recorded run's executed actions, standing in for them in a replay;
    ``called``: the run's own ledger, whose calls without a result (a worker died in the call,
    the call raised) bring the replay to the question the run was asked about them."""
    ledger = MemoryLedger()
    for key, entry in (called or {}).items():
        ledger.begin(key, entry.args)
        if entry.result is not None:
            ledger.finish(key, entry.result)
        elif entry.error:
            ledger.fail(key, entry.error)
    for action in recorded.get("actions", []):
        if action["status"] == "executed":
            ledger.begin(action["idempotency_key"], action["args"])
            ledger.finish(action["idempotency_key"], action["result"])
    return ledger


def replay_state(
    chain: Chain,
    request: Any,
    *,
    run_id: str,
    recorded: Mapping[str, Any],
    tape: Tape,
    inject: str | None = None,
    limits: Mapping[str, float] | None = None,
    waiting_at: str | None = None,
    start: CheckpointTuple | None = None,
    saver: InMemorySaver | None = None,
    called: Mapping[str, LedgerEntry] | None = None,
) -> RunOutcome:
    """Re-run ``chain`` in memory from a ``replay`` tape: agent answers, source reads and human
    decisions from the tape, actions from ``recorded``'s results (one it has none for is
    simulated, never called), gates live. ``waiting_at``: the scope of the question the run
    still waits at; the replay stops there too, ``waiting``, when it reaches it undecided.
    ``start``: the checkpoint a forked run started from (its edit applied); the replay goes on
    from there, as the fork did, instead of from the input. ``saver``: where the replay keeps
    its checkpoints (read it after a ``TapeMissingError`` to see how far the replay got).
    ``called``: the run's ledger (see :func:`recorded_ledger`).

    Raises:
        TapeMissingError: the replay asked for something the run never recorded.
    """

    def decide(req: EscalationRequest) -> Decision | None:
        if waiting_at is not None and req.scope == waiting_at and not tape.has_decision(req.scope):
            return None  # the run waits here still: so does its replay
        return Decision.model_validate(tape.decision_for(req.scope))

    # Real (fresh) sources only for faults that poke them; every read comes from the tape.
    ctx = RunContext(
        run_id=run_id,
        inject=inject,
        sources=chain.sources(),
        ledger=recorded_ledger(recorded, called),
        tape=tape,
        limits=limits or {},
    )
    saver = saver or InMemorySaver()
    if start is None:
        return run_chain(
            chain, request, run_id=run_id, inject=inject, decide=decide, ctx=ctx, checkpointer=saver
        )
    put_tuple(saver, start, run_id)
    return continue_chain(compile_chain(chain, saver), run_id, ctx, decide=decide)


def _recording(
    raw: redis.Redis, chain: Chain, run_id: str, what_if: bool
) -> tuple[dict[str, Any], Tape, CheckpointTuple | None]:
    """The run's last saved state, its tape opened for a replay, and the checkpoint it was
    forked at (``None`` for a run that started from its input)."""
    saver = RedisSaver(raw)
    with reading(run_id):
        recorded = dict(compile_chain(chain, saver).get_state(run_config(run_id)).values)
        entries = RedisTapeStore(raw, run_id).entries()
        # The newest edit: older ones were copied from the run it was forked from.
        edits = saver.list(run_config(run_id), filter={"source": "update"}, limit=1)
        forked_at = next(iter(edits), None)
    tape = Tape(MemoryTapeStore(entries), "replay", assume_from=entries if what_if else None)
    return recorded, tape, forked_at


def _open_question(cp: ControlPlane, run_id: str) -> str | None:
    """Where (the tape scope) the run waits for a human decision now, if it does."""
    pending = [e for e in cp.escalations.for_run(run_id) if e.pending]
    if not pending:
        return None
    return str(pending[-1].request.get("scope") or "") or None


def replay_run(
    cp: ControlPlane,
    raw: redis.Redis,
    registry: Registry,
    run_id: str,
    *,
    chain: Chain | None = None,
    limits: Mapping[str, float] | None = None,
    what_if: bool = False,
) -> ReplayReport:
    """Replay ``run_id`` (finished, failed, rejected, killed, or waiting: the replay stops at
    the question the run waits at, undecided there too) from its tape, through the
    workflow's gates and adopted envelope limits as they are now (or through ``chain``, e.g.
    with a rule changed, and ``limits``, e.g. a limit an insight proposes). ``what_if``: a
    source read the run never made (it went another way) assumes the newest value the run read
    of that fact instead of ending the replay as diverged; the report counts them.

    Raises:
        UnknownRun: no such run.
        DamagedCheckpointError: its last checkpoint or its tape cannot be read.
    """
    record = cp.runs.get(run_id)
    chain = chain or registry.fresh(record.workflow)
    request, inject = RunInputs(cp.client).get(run_id)
    recorded, tape, forked_at = _recording(raw, chain, run_id, what_if)
    limits = Limits(cp.client).of(record.workflow) if limits is None else limits
    report = ReplayReport(run_id, record.status, "diverged", recorded=_trace(recorded))
    if record.status == "killed" and not recorded:
        report.replayed_status = "killed"  # before its first step: there is nothing to replay
        return report
    saver = InMemorySaver()
    try:
        outcome = replay_state(
            chain,
            request,
            run_id=run_id,
            inject=inject,
            recorded=recorded,
            tape=tape,
            limits=limits,
            waiting_at=_open_question(cp, run_id),
            start=forked_at,
            saver=saver,
            called=RedisLedger(cp.client, run_id).entries(),
        )
    except TapeMissingError as exc:
        return _tape_ended(report, recorded, tape, str(exc), compile_chain(chain, saver))
    if record.status == "killed" and outcome.status == "waiting":
        return _killed(report, recorded, dict(outcome.state), tape, None)  # at its question
    return _compared(report, recorded, dict(outcome.state), outcome.status, tape)


def _tape_ended(
    report: ReplayReport, recorded: dict[str, Any], tape: Tape, missing: str, graph: Compiled
) -> ReplayReport:
    """The replay asked its tape for what the run never recorded (``missing``): a divergence,
    unless the run was killed there (``graph``: the replay's, holding how far it got)."""
    if report.recorded_status != "killed":
        report.divergences.append(missing)
        return report
    got = graph.get_state(run_config(report.run_id)).values
    return _killed(report, recorded, dict(got), tape, missing)


def _compared(
    report: ReplayReport, recorded: dict[str, Any], got: dict[str, Any], status: str, tape: Tape
) -> ReplayReport:
    report.replayed_status = status
    report.live_calls = tape.computed
    report.divergences = compare(recorded, got)
    report.replayed = _trace(got)
    report.assumed = tape.assumed
    return report


def _killed(
    report: ReplayReport,
    recorded: dict[str, Any],
    got: dict[str, Any],
    tape: Tape,
    missing: str | None,
) -> ReplayReport:
    """A killed run's replay, stopped where its tape ends (``missing``: the entry it lacked) or
    at the question the run was killed at: ``killed`` when it got exactly as far as the run did
    (its state then is the run's last saved state), else ``diverged``."""
    _compared(report, recorded, got, "killed", tape)
    if report.divergences:
        report.replayed_status = "diverged"
        report.divergences[:0] = [missing] if missing else []
    return report

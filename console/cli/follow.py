"""Follow a run's event stream from any process until it ends or waits for a human."""

from __future__ import annotations

import time
from collections.abc import Callable

from console.cli.errors import CliError
from console.timeline import describe
from console.visible import visible
from state.control.models import RunEvent, RunRecord
from state.control.plane import ControlPlane
from state.run_events import parse_node_update
from state.status import TERMINAL_STATUSES

KILL_SETTLE_S = 2.0
"""How long a killed run's executor in this process gets to finish its last writes."""


def event_lines(event: RunEvent) -> list[str]:
    """Timeline lines for one event."""
    if event.kind == "node":
        update = parse_node_update(event.data)
        return describe(update) if update is not None else []
    if event.kind == "status":
        data = event.data
        status = data.get("status") or data.get("to") or ""
        return [visible(f"  [{status}]")] if status else []
    if event.kind == "damaged":
        return [visible(f"  [damaged event {event.id}: {event.data.get('problem', '')}]")]
    return []


def follow(
    cp: ControlPlane,
    run_id: str,
    *,
    after: str = "0-0",
    out: Callable[[str], None] = print,
    still_running: Callable[[], bool] = lambda: False,
    stalled: Callable[[], str | None] = lambda: None,
    tick: float = 0.5,
    timeout: float | None = None,
) -> tuple[RunRecord, str]:
    """Print the run's events until its status is terminal, ``waiting`` or ``held``.

    Args:
        cp: Where the run's record and event stream are read.
        run_id: The run.
        after: The last event id already shown (``"0-0"``: follow from the start).
        out: Where each timeline line goes.
        still_running: True while the run is executing in this process (keep following).
        stalled: Why nothing will advance the run (e.g. ``Backend.nothing_executing``), or
            ``None``; checked between ticks, so following never waits forever on a dead run.
        tick: Longest wait, in seconds, for new events before the run is checked again.
        timeout: Stop following after this many seconds (the run goes on).

    Returns:
        The run's record at that point and the last event id read (to resume following).

    Raises:
        CliError: ``stalled`` reported a reason, or the timeout passed (naming what the run
            is doing: queued for a worker, or at which stage on which worker).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for event in cp.events.tail(run_id, after=after, timeout=tick):
            after = event.id
            for line in event_lines(event):
                out(line)
        record = cp.runs.get(run_id)
        stopped = record.status in TERMINAL_STATUSES or record.status in ("waiting", "held")
        if stopped and (not still_running() or _fenced_out(record)):
            for event in cp.events.read(run_id, after=after, count=10_000):
                after = event.id
                for line in event_lines(event):
                    out(line)
            return record, after
        reason = stalled()
        if reason is not None:
            raise CliError(reason)
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"stopped following after {timeout:.0f}s: {doing(record)}")


def _fenced_out(record: RunRecord) -> bool:
    """A run killed a while ago: whatever still runs its node here can write nothing more
    (the kill fenced it out), so following it need not wait for that node to end."""
    return record.status == "killed" and time.time() - record.updated_at.timestamp() > KILL_SETTLE_S


def doing(record: RunRecord) -> str:
    """What a run that has not stopped is doing, in words."""
    follow_up = f"`waybill show {record.run_id} -f` to follow it again"
    if record.status == "queued":
        return f"run {record.run_id} is queued, waiting for a worker; {follow_up}"
    where = f" at stage {record.stage}" if record.stage else ""
    worker = f" on worker {record.worker}" if record.worker else ""
    return f"run {record.run_id} is {record.status}{where}{worker}; {follow_up}"

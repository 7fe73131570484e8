"""Follow a run's event stream from any process until it ends or waits for a human."""

from __future__ import annotations

from collections.abc import Callable

from console.errors import CliError
from console.timeline import describe_update
from state.control.models import TERMINAL_STATUSES, RunEvent, RunRecord
from state.control.plane import ControlPlane


def event_lines(event: RunEvent) -> list[str]:
    """Timeline lines for one event."""
    if event.kind == "node":
        update = event.data.get("update")
        return describe_update(str(event.data.get("node", "")), update) if update else []
    if event.kind == "status":
        data = event.data
        status = data.get("status") or data.get("to") or ""
        return [f"  [{status}]"] if status else []
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
) -> tuple[RunRecord, str]:
    """Print the run's events until its status is terminal or ``waiting``.

    Args:
        still_running: True while the run is executing in this process (keep following).
        stalled: Why nothing will advance the run (e.g. ``Backend.nothing_executing``), or
            ``None``; checked between ticks, so following never waits forever on a dead run.

    Returns:
        The run's record at that point and the last event id read (to resume following).

    Raises:
        CliError: ``stalled`` reported a reason.
    """
    while True:
        for event in cp.events.tail(run_id, after=after, timeout=tick):
            after = event.id
            for line in event_lines(event):
                out(line)
        record = cp.runs.get(run_id)
        if (record.status in TERMINAL_STATUSES or record.status == "waiting") and not (
            still_running()
        ):
            for event in cp.events.read(run_id, after=after, count=10_000):
                after = event.id
                for line in event_lines(event):
                    out(line)
            return record, after
        reason = stalled()
        if reason is not None:
            raise CliError(reason)

"""What stopping a command (Ctrl+C, SIGTERM, its terminal closed) does to the run it follows.

The command never leaves a run silently stranded. A run ``waybill run`` executes inline goes
back to the queue at its next node, with its checkpoints, for a worker to resume (a second
Ctrl+C leaves at once: the run is then resumed by a worker once its lease ends, as after a
crash). A run a worker executes goes on there (also for ``waybill show -f``). Either way the
last lines say where the run stands and what resumes or stops it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

from console.cli.backend import Backend
from console.cli.deciding import EXIT_CODES, decide_hint
from console.cli.terminal import after_echo, say
from console.visible import visible
from state.control.models import RunRecord
from state.signals import stop_signals
from state.status import TERMINAL_STATUSES

INTERRUPTED = 130
"""The exit code of a command stopped by Ctrl+C (128 + SIGINT), as shells report it."""


def _say(line: str) -> None:
    say(visible(f"waybill: {line}"), sys.stderr)


def _fresh_line() -> None:
    """End the line a terminal's echoed ``^C`` is on, so what follows starts a line."""
    with contextlib.suppress(OSError, ValueError):
        print(after_echo(sys.stderr), end="", file=sys.stderr)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stops_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM and a closed terminal (SIGHUP) raise ``KeyboardInterrupt``,
    so the command ends as on Ctrl+C (a run handed back, a server shut down) and is not cut
    off."""
    stops = stop_signals()
    previous = {signum: signal.getsignal(signum) for signum in stops}
    for signum in stops:
        signal.signal(signum, _interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def leave_now(code: int) -> NoReturn:
    """Exit with ``code`` now, output flushed, without waiting for threads: a run's node that
    this process executes inline and that was handed over (or fenced out by a kill) ends with
    the process, as it would with a worker's work process."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _in_veto_window(backend: Backend, run_id: str) -> bool:
    """True when the run's open question is a veto window (a notify-tier action)."""
    pending = [e for e in backend.cp.escalations.for_run(run_id) if e.decision is None]
    return any(e.kind == "veto" for e in pending)


def interrupted(backend: Backend, run_id: str) -> int:
    """After the command was told to stop while following ``run_id``: hand the run back (when
    this process executes it), say where it stands; the exit code."""
    _fresh_line()
    handed_back = backend.inline_busy()
    if handed_back and not _hand_back(backend, run_id):
        return INTERRUPTED
    record = backend.cp.runs.get(run_id)
    if record.status in TERMINAL_STATUSES:
        reason = f" ({record.reason})" if record.reason else ""
        print(visible(f"run {run_id}: {record.status}{reason}"))
        return EXIT_CODES.get(record.status, 1)
    failed = backend.nothing_executing(run_id) if handed_back else None
    # An execution here that broke off (Redis lost, say) is resumed by a worker; else:
    _say(failed or _where_it_stands(backend, record, handed_back))
    return INTERRUPTED


def _hand_back(backend: Backend, run_id: str) -> bool:
    """Hand the run this process executes back to the queue, waiting for its current node;
    False when a second Ctrl+C left it inside that node."""
    _say(
        f"stopping: run {run_id} goes back to the queue after its current step "
        "(Ctrl+C again to leave now)"
    )
    backend.hand_back()
    try:
        while backend.inline_busy():
            for thread in backend.inline_threads:
                thread.join(0.2)
    except KeyboardInterrupt:
        _fresh_line()
        backend.leave_inline = True
        ttl = backend.settings.lease_ttl_s
        _say(
            f"left run {run_id} inside its step: a worker resumes it from its last "
            f"checkpoint once its lease ends (within {ttl:.0f} s; start one with "
            "`waybill worker`)"
        )
        return False
    return True


def _where_it_stands(backend: Backend, record: RunRecord, handed_back: bool) -> str:
    """Where a run that has not ended stands, and what moves it on or stops it."""
    run_id = record.run_id
    kill = f"`waybill kill --run {run_id} --reason TEXT` stops it"
    if record.status == "queued" and handed_back:
        at = f" at stage {record.stage}" if record.stage else ""
        return (
            f"run {run_id} is back in the queue: a worker resumes it{at}, from its last "
            f"checkpoint (`waybill worker`, or `make up`); {kill}"
        )
    if record.status == "waiting" and _in_veto_window(backend, run_id):
        return (
            f"run {run_id} goes on when its veto window ends (a worker ends it: `waybill "
            f"worker`), unless vetoed first (`waybill decide {run_id} --veto`)"
        )
    if record.status == "waiting":
        pending = [e for e in backend.cp.escalations.for_run(run_id) if e.decision is None]
        allowed = [str(a) for e in pending[:1] for a in e.request.get("allowed", [])]
        return f"run {run_id} is waiting for a decision ({decide_hint(run_id, allowed)})"
    if record.status == "held":
        reason = f" ({record.reason})" if record.reason else ""
        return f"run {run_id} is held{reason}; it goes on when its hold switch is released"
    return (
        f"stopped following run {run_id} ({record.status}); it goes on without this "
        f"command: `waybill show {run_id} -f` follows it, {kill}"
    )

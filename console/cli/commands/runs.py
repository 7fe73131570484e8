"""``waybill runs`` and ``waybill show RUN``: what runs exist and what one of them did."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.follow import event_lines, follow
from console.cli.interrupted import interrupted
from console.visible import visible
from state.control.models import DamagedRecord, RunRecord
from state.control.runs import MAX_OFFSET, MAX_PAGE
from state.control.search import RunQuery, RunSearch, Usage
from state.status import RUN_STATUSES, TERMINAL_STATUSES


def add_parser(sub: Any) -> None:
    """Register ``waybill runs`` and ``waybill show`` on the subcommands ``sub``."""
    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--status", choices=RUN_STATUSES)
    p.add_argument("--workflow", type=argtypes.name)
    p.add_argument("--limit", type=argtypes.int_between(0, MAX_PAGE), default=20)
    p.add_argument("--offset", type=argtypes.int_between(0, MAX_OFFSET), default=0)
    p.add_argument("--search", metavar="TEXT", help="text in the run's input or any payload")
    p.add_argument("--stage", type=argtypes.name, help="runs that reached this stage")
    p.add_argument("--user", type=argtypes.user, help="runs started by this user")
    p.add_argument(
        "--since", type=argtypes.day, metavar="YYYY-MM-DD", help="started that day or later"
    )
    p.add_argument(
        "--until", type=argtypes.day, metavar="YYYY-MM-DD", help="started that day or earlier"
    )
    p.set_defaults(func=cmd_runs)
    s = sub.add_parser("show", help="print a run's timeline from its event stream")
    s.add_argument("run_id", metavar="RUN", type=argtypes.run_id)
    s.add_argument("--follow", "-f", action="store_true", help="keep following until it stops")
    s.add_argument(
        "--timeout",
        type=argtypes.seconds,
        default=600.0,
        help="with --follow: stop after this many seconds (default 600)",
    )
    s.set_defaults(func=cmd_show)


def _age(ts: datetime) -> str:
    seconds = int((datetime.now(UTC) - ts).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _print_runs(runs: list[RunRecord], usage: dict[str, Usage]) -> None:
    """One line per run, the columns as wide as their longest value (ids and names are free
    text up to 64 characters, shown as text like the reason: a newline must not break a row)."""
    rows = [
        (visible(r.run_id), visible(r.workflow), visible(r.stage or ""), visible(r.reason or ""))
        for r in runs
    ]
    run_w = max([3, *(len(row[0]) for row in rows)])
    flow_w = max([8, *(len(row[1]) for row in rows)])
    stage_w = max([5, *(len(row[2]) for row in rows)])
    print(
        f"{'RUN':<{run_w}} {'WORKFLOW':<{flow_w}} {'STATUS':<9} {'STAGE':<{stage_w}} {'AGE':>5} "
        f"{'TOKENS':>7} {'COST $':>8}  REASON"
    )
    for r, (run_id, workflow, stage, reason) in zip(runs, rows, strict=True):
        spent = usage.get(r.run_id, Usage())
        print(
            f"{run_id:<{run_w}} {workflow:<{flow_w}} {r.status:<9} {stage:<{stage_w}} "
            f"{_age(r.created_at):>5} {spent.tokens:>7} {spent.cost:>8.4f}  {reason[:60]}"
        )


def _say_damaged(damaged: list[DamagedRecord]) -> None:
    """One line on stderr per run left out because its record cannot be read."""
    for run in damaged:
        print(f"waybill: {visible(str(run))}", file=sys.stderr)


def _query(args: argparse.Namespace) -> RunQuery | None:
    if not (args.search or args.stage or args.user or args.since or args.until):
        return None
    return RunQuery(
        workflow=args.workflow,
        status=args.status,
        stage=args.stage,
        user=args.user,
        since=args.since,
        until=args.until + timedelta(days=1) if args.until else None,
        text=args.search or "",
        limit=max(1, args.limit),
    )


def cmd_runs(args: argparse.Namespace) -> int:
    """Print one page of runs, newest first, filtered by status and workflow, or the runs a
    search finds (text, stage reached, user, dates), with their tokens and cost; 0."""
    with open_backend() as backend:
        search = RunSearch(backend.cp.client)
        query = _query(args)
        if query is not None:
            found = search.find(query)
            _print_runs(
                [h.record for h in found.hits], {h.record.run_id: h.usage for h in found.hits}
            )
            _say_damaged(found.damaged)
            scope = "" if found.complete else f", searched the newest {found.examined}"
            print(f"({len(found.hits)} found among {found.candidates}{scope})")
            return 0
        page = backend.cp.runs.list(
            status=args.status, workflow=args.workflow, offset=args.offset, limit=args.limit
        )
        _print_runs(page.items, search.usage([r.run_id for r in page.items]))
        _say_damaged(page.damaged)
        shown = f"{page.offset + 1}-{page.offset + len(page.items)}" if page.items else "none"
        print(f"({shown} of {page.total})")
        return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the run's timeline (followed live with ``--follow``), status and escalations; 0."""
    with open_backend() as backend:
        record = backend.cp.runs.get(args.run_id)
        print(visible(f"run {record.run_id} of {record.workflow}, started by {record.user or '?'}"))
        if args.follow:
            run_id = record.run_id
            try:
                record, _ = follow(
                    backend.cp,
                    run_id,
                    stalled=lambda: backend.nothing_executing(run_id),
                    timeout=args.timeout,
                )
            except KeyboardInterrupt:
                return interrupted(backend, run_id)  # says where the run stands
        else:
            for event in backend.cp.events.read(record.run_id, count=100_000):
                for line in event_lines(event):
                    print(line)
        reason = f" ({record.reason})" if record.reason else ""
        print(visible(f"status: {record.status}{reason}"))
        for esc in backend.cp.escalations.for_run(record.run_id):
            if esc.decision is None:
                what = esc.request.get("what", "")
                # A run that ended asks nothing any more (killed while it waited, say).
                ended = record.status in TERMINAL_STATUSES
                state = f"unanswered ({record.status})" if ended else "pending"
                print(visible(f"{state} escalation {esc.escalation_id}: {what}"))
            else:
                d = esc.decision
                print(visible(f"escalation {esc.escalation_id}: {d.action} by {d.user}"))
        return 0

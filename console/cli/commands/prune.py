"""``waybill prune``: delete finished runs now (workers do it when their retention ends).

A finished run is kept ``WAYBILL_RUN_RETENTION_S`` seconds (30 days by default; 0 keeps runs
forever); then the workers' sweepers delete every key it has (checkpoints, writes, events,
tape, ledger, input, escalations) and the listings forget it. The audit log is kept whole and
still verifies. ``waybill prune`` does the same at once: the runs whose retention is over, and
with ``--older-than``, every run that finished longer ago than that, as an admin whose API
token is in ``WAYBILL_TOKEN`` (audited).
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.errors import CliError
from console.cli.identity import acting_user

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(value: str) -> float:
    """A duration: a number of seconds, or a number with ``s``, ``m``, ``h`` or ``d``."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if found is None:
        raise argparse.ArgumentTypeError(f"not a duration: {value[:40]!r} (e.g. 90, 30m, 12h, 7d)")
    return float(found[1]) * _UNITS[found[2] or "s"]


def add_parser(sub: Any) -> None:
    """Register ``waybill prune`` on the subcommands ``sub``."""
    p = sub.add_parser("prune", help="delete finished runs now (retention)")
    p.add_argument(
        "--older-than",
        type=duration,
        metavar="AGE",
        help="also every run that finished longer ago than AGE (90, 30m, 12h, 7d)",
    )
    p.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    p.add_argument(
        "--user",
        type=argtypes.user,
        help="who you are (optional; must match the API token's user, an admin)",
    )
    p.set_defaults(func=cmd_prune)


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete the finished runs whose retention is over (and, with ``--older-than``, those
    that finished before then), print how many; 0."""
    with open_backend() as backend:
        retention = backend.cp.retention
        now = time.time()
        found = dict(retention.due(now, limit=1_000_000))
        if args.older_than is not None:
            found.update(retention.finished_before(now - args.older_than))
        if args.dry_run:
            print(f"{len(found)} finished run(s) would be deleted")
            return 0
        who = acting_user(backend, args.user)
        if not who.can("admin"):
            backend.cp.audit.append(who.name, "denied", "runs.prune", {"via": who.via})
            raise CliError(f"pruning runs needs the admin role; {who.name} is {who.role}")
        purged = [retention.purge(run_id, workflow) for run_id, workflow in found.items()]
        done = sum(1 for p in purged if p is not None)
        details = {"runs": done, "older_than_s": args.older_than}
        backend.cp.audit.append(who.name, "runs.prune", "*", {**details, "via": who.via})
        print(f"{done} finished run(s) deleted; the audit log keeps what was done to them")
        return 0

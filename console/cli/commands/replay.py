"""``waybill replay RUN``: re-run a recorded run from its tape and report any divergence."""

from __future__ import annotations

import argparse
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.visible import visible
from graph.runtime.registry import default_registry
from graph.runtime.replay import replay_run


def add_parser(sub: Any) -> None:
    """Register ``waybill replay`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("replay", help="re-run a run from its recorded results (no model calls)")
    p.add_argument("run_id", metavar="RUN", type=argtypes.run_id)
    p.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay the run from its tape and print the divergences; 0 when identical, else 3."""
    with open_backend() as backend:
        report = replay_run(backend.cp, backend.raw, default_registry(), args.run_id)
    print(
        f"run {report.run_id}: recorded {report.recorded_status}, replayed {report.replayed_status}"
    )
    print(f"live calls during the replay: {report.live_calls}")
    for line in report.divergences:
        print(visible(f"  {line}"))
    if report.identical:
        print("identical: the replay reproduced the run from its tape")
        return 0
    print(f"diverged: {len(report.divergences)} difference(s)")
    return 3

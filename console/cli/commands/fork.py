"""``waybill fork RUN --at CHECKPOINT [--set PATH=VALUE ...]`` (as the user of the API token in
``WAYBILL_TOKEN``) and ``waybill history RUN``."""

from __future__ import annotations

import argparse
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.errors import CliError
from console.cli.identity import acting_user
from console.cli.jsonfile import NotJsonError, parse_json
from graph.runtime.history import checkpoints
from graph.runtime.registry import default_registry


def add_parser(sub: Any) -> None:
    """Register ``waybill fork`` and ``waybill history`` on the subcommands ``sub``."""
    p = sub.add_parser("fork", help="start a new run from a checkpoint, with edited state")
    p.add_argument("run_id", metavar="RUN", type=argtypes.run_id)
    p.add_argument("--at", required=True, metavar="CHECKPOINT", help="see `waybill history RUN`")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="edit the state (VALUE is JSON, or text), e.g. request.text='...'",
    )
    p.add_argument(
        "--user", type=argtypes.user, help="must name the API token's user (who forks is its user)"
    )
    p.set_defaults(func=cmd_fork)
    h = sub.add_parser("history", help="list a run's checkpoints, newest first")
    h.add_argument("run_id", metavar="RUN", type=argtypes.run_id)
    h.set_defaults(func=cmd_history)


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``PATH=VALUE`` pairs; VALUE is parsed as JSON when it is JSON, else kept as text."""
    sets: dict[str, Any] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise CliError(f"--set needs PATH=VALUE, got '{item}'")
        try:
            sets[path] = parse_json(raw, f"the value of --set {path}")
        except NotJsonError:
            sets[path] = raw
    return sets


def cmd_fork(args: argparse.Namespace) -> int:
    """Fork the run at ``--at`` with the ``--set`` edits and queue the new run; 0 when queued."""
    sets = parse_sets(args.set)
    with open_backend() as backend:
        who = acting_user(backend, args.user)
        record = backend.service().fork(args.run_id, args.at, who=who, sets=sets)
        print(f"run {record.run_id}: forked from {args.run_id} at {args.at}; queued")
        return 0


def cmd_history(args: argparse.Namespace) -> int:
    """Print the run's checkpoints, newest first, with where each would resume; 0."""
    with open_backend() as backend:
        record = backend.cp.runs.get(args.run_id)
        chain = default_registry().get(record.workflow)
        for cp in checkpoints(backend.raw, chain, record.run_id):
            nxt = ", ".join(cp.next) or "(end)"
            flag = "  [interrupted]" if cp.interrupted else ""
            print(f"{cp.checkpoint_id}  step {cp.step:>3}  next: {nxt}{flag}")
        return 0

"""``waybill run WORKFLOW --example NAME`` (or ``--input FILE``): run a workflow and print its
timeline, on Redis (a worker, or this process) or, with ``--local``, in memory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console.cli import args as argtypes
from console.cli.errors import CliError
from console.cli.jsonfile import load_json
from console.cli.run_local import run_here
from console.cli.run_redis import run_on_redis
from graph.runtime.registry import default_registry


def add_parser(sub: Any) -> None:
    """Register ``waybill run`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("run", help="run a workflow and print its timeline")
    p.add_argument("workflow", help="a registered workflow (see `waybill workflows`)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--input", type=Path, help="JSON file with the run's input")
    given.add_argument(
        "--example", metavar="NAME", help="one of the workflow's examples (`waybill workflows`)"
    )
    p.add_argument("--inject", metavar="FAULT", help="inject one of the workflow's faults")
    p.add_argument(
        "--decision",
        metavar="DECISION",
        help="answer every escalation with approve|reject|edit (default: ask on a terminal)",
    )
    p.add_argument("--edit", type=Path, metavar="FILE", help="edited payload for --decision edit")
    p.add_argument(
        "--comment", type=argtypes.text, default="", help="comment recorded with the decision"
    )
    p.add_argument(
        "--user",
        type=argtypes.user,
        help="on Redis: must name the API token's user (WAYBILL_TOKEN), who starts the run and "
        "decides; with --local: the name recorded (default: cli)",
    )
    p.add_argument(
        "--run-id", type=argtypes.run_id, help="run id: letters, digits, _, - (default: new)"
    )
    p.add_argument(
        "--timeout",
        type=argtypes.seconds,
        default=600.0,
        help="stop following after this many seconds (the run goes on; default 600)",
    )
    p.add_argument(
        "--local",
        action="store_true",
        help="run in this process with in-memory state (no Redis, no workers)",
    )
    p.set_defaults(func=cmd_run)


def request_of(args: argparse.Namespace) -> dict[str, Any]:
    """The run's input: the ``--input`` file, or the workflow's example ``--example``."""
    if args.input is not None:
        request: dict[str, Any] = load_json(args.input, "input file")
        return request
    examples = default_registry().get(args.workflow).examples
    if args.example not in examples:
        known = ", ".join(examples) or "none"
        raise CliError(f"{args.workflow} has no example {args.example!r} (known: {known})")
    example: dict[str, Any] = load_json(examples[args.example], "example")
    return example


def cmd_run(args: argparse.Namespace) -> int:
    """Run the workflow; the exit code says how the run ended (see the README)."""
    request = request_of(args)
    return run_here(args, request) if args.local else run_on_redis(args, request)

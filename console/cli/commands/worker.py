"""``waybill worker [--burst]``: execute runs from the queue (run as many as you like)."""

from __future__ import annotations

import argparse
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from graph.runtime.worker import run_worker


def add_parser(sub: Any) -> None:
    """Register ``waybill worker`` on the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("worker", help="run a worker that executes runs from the queue")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument(
        "--name",
        type=argtypes.name,
        help="worker name (default: host + random suffix); a dead worker's name is reused",
    )
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a worker on the runs queue until it is stopped (or, with ``--burst``, the queue is
    empty); 0."""
    with open_backend() as backend:
        print(f"waybill worker on queue '{backend.settings.queue_name}'", flush=True)
        run_worker(backend.url, burst=args.burst, name=args.name, queue_url=backend.queue_url)
        return 0

"""``waybill worker [--burst]``: execute runs from the queue (run as many as you like)."""

from __future__ import annotations

import argparse
from typing import Any

from console.backend import open_backend
from graph.worker import run_worker


def add_parser(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a worker that executes runs from the queue")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.add_argument("--name", help="worker name (default: host + random suffix)")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    backend = open_backend()
    url = backend.url
    print(f"waybill worker on queue '{backend.settings.queue_name}'", flush=True)
    try:
        run_worker(url, burst=args.burst, name=args.name)
        return 0
    finally:
        backend.close()

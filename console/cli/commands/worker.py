"""``waybill worker [--burst]``: execute runs from the queue (run as many as you like)."""

from __future__ import annotations

import argparse
from typing import Any

from agents.llm.models import check_configured_model
from console.cli import args as argtypes
from console.cli.backend import Backend, open_backend
from console.cli.errors import CliError
from graph.runtime.worker import run_worker, through_outage
from state.control.connection import connect
from state.control.errors import RedisUnavailable
from state.settings import Settings, get_settings


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


def _open(settings: Settings) -> Backend:
    """The backend, once its Redis answers: a worker started while its Redis restarts waits
    for it (``WAYBILL_REDIS_OUTAGE_S``) instead of exiting; then the one-line error."""
    if settings.redis_url is not None:  # (the embedded server is started by open_backend)
        url = settings.redis_url.get_secret_value()
        try:
            through_outage(
                lambda: connect(url, check_retries=0).close(),
                "waybill worker",
                settings.redis_outage_s,
                lambda: False,
                errors=(RedisUnavailable,),
            )
        except RedisUnavailable as exc:
            raise CliError(str(exc)) from None
    return open_backend(settings)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a worker on the runs queue until it is stopped (or, with ``--burst``, the queue is
    empty); 0."""
    settings = get_settings()
    check_configured_model()  # before it takes a run its agents could not answer
    with _open(settings) as backend:
        print(f"waybill worker on queue '{settings.queue_name}'", flush=True)
        run_worker(
            backend.url,
            burst=args.burst,
            name=args.name,
            queue_url=backend.queue_url,
            patience_s=settings.redis_outage_s,
        )
        return 0

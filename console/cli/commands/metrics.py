"""``waybill metrics``: a Prometheus endpoint for the whole deployment (runs, gates, actions,
escalations, queue, workers), read from Redis at each scrape."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from console.cli import args as argtypes
from console.cli.backend import open_backend
from console.cli.interrupted import stops_interrupt
from console.cli.ports import require_free_port
from console.origin import http_url
from graph.runtime.registry import Registry, default_registry
from graph.telemetry.prometheus import serve_metrics
from graph.telemetry.series import Catalog


def add_parser(sub: Any) -> None:
    """Register ``waybill metrics`` on the subcommands ``sub``."""
    p = sub.add_parser("metrics", help="serve Prometheus metrics on /metrics")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument(
        "--port", type=argtypes.int_between(0, 65535), default=9464, help="0: a free port"
    )
    p.set_defaults(func=cmd_metrics)


def catalog_of(registry: Registry) -> Catalog:
    """Each workflow that loaded, with the names of its stages' actions."""
    return {
        name: [a.name for stage in registry.get(name).stages for a in stage.actions]
        for name in registry.names()
    }


def cmd_metrics(args: argparse.Namespace) -> int:
    """Serve until Ctrl+C, SIGTERM or SIGHUP (a normal end: exit code 0); prints the URL
    (with the port, when 0 was asked) first."""
    require_free_port(args.host, args.port, "metrics server")
    with open_backend() as backend:
        catalog = catalog_of(default_registry())
        server = serve_metrics(backend.cp, backend.queue, args.host, args.port, catalog)
        print(f"waybill metrics on {http_url(args.host, server.server_port)}/metrics", flush=True)
        try:
            with stops_interrupt():
                threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
        return 0

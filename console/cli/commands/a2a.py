"""``waybill a2a``: every workflow as an A2A agent (cards, tasks that are runs).

Each call carries a console user's API token (``Authorization: Bearer``, see
``console.a2a.auth``): a run is started as that user (approver role at least, read at every
call, audited by the run service). It binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from console.a2a.app import a2a_app
from console.a2a.executor import Start
from console.cli import args as argtypes
from console.cli.backend import Backend, open_backend
from console.cli.ports import require_free_port
from console.origin import http_url
from graph.runtime.principal import Principal
from graph.runtime.registry import default_registry
from state.control.models import RunRecord


def add_parser(sub: Any) -> None:
    """Register ``waybill a2a`` on the subcommands ``sub``."""
    p = sub.add_parser("a2a", help="serve every workflow as an A2A agent (a task is a run)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=argtypes.int_between(1, 65535), default=8600)
    p.add_argument("--public-url", help="the URL clients use, if not http://HOST:PORT")
    p.add_argument(
        "--wait", type=argtypes.seconds, default=30.0, help="how long message/send waits (s)"
    )
    p.set_defaults(func=cmd_a2a)


def _starter(backend: Backend) -> Any:
    def start_for(workflow: str) -> Start:
        def start(payload: dict[str, Any], run_id: str, who: Principal) -> RunRecord:
            # Decided per run: inline when no worker listens, else on the queue.
            service = backend.service()
            return service.submit(workflow, payload, who=who, run_id=run_id)

        return start

    return start_for


def cmd_a2a(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0."""
    require_free_port(args.host, args.port, "A2A server")
    with open_backend() as backend:
        base = args.public_url or http_url(args.host, args.port)
        app = a2a_app(backend.cp, default_registry(), _starter(backend), base, args.wait)
        print(f"waybill a2a on {base}/ (callers send a console user's API token)", flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        return 0

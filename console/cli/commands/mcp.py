"""``waybill mcp``: the oversight MCP server for operators' assistants (stdio).

It acts as the console user whose API token is in ``WAYBILL_TOKEN`` (``waybill user token
NAME``); every tool re-reads that user's role, and tripping a kill switch needs admin.
It can never approve, edit or reject an escalation. Nothing but the protocol goes to stdout.
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli.backend import open_backend
from console.mcp.server import build_server
from console.mcp.tools import Oversight
from console.operator import operator_principal


def add_parser(sub: Any) -> None:
    """Register ``waybill mcp`` on the subcommands ``sub``."""
    p = sub.add_parser(
        "mcp",
        help="serve the oversight tools over MCP (stdio) as WAYBILL_TOKEN's user; never decides",
    )
    p.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve MCP on stdin/stdout until the client closes it; 0 (1 when refused at login)."""
    with open_backend() as backend:
        who = operator_principal(backend.cp, backend.settings, via="mcp")
        token = backend.settings.token
        live = token.get_secret_value().strip() if token is not None else None
        oversight = Oversight(backend.cp, backend.service(inline=False), who, live)
        server = build_server(oversight)
        server.stop_on_signals()
        server.run("stdio")
        return 0

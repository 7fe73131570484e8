"""The oversight MCP server: FastMCP over :class:`console.mcp.tools.Oversight`.

Read-only tools carry ``readOnlyHint``; the kill switch is marked destructive. A call of any
tool this server does not have — an assistant trying ``approve_escalation``, ``decide`` or
anything else — is refused with a message saying that escalations are decided by humans only,
and the attempt is audited (an agent approving its own escalation is the confused-deputy hole
this closes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ContentBlock, ToolAnnotations

from console.cli.terminal import after_echo
from console.mcp.tools import HUMANS_ONLY, HoldResult, KillResult, Oversight, PendingEscalation
from state.control.models import KillScope, KillSwitch, RunPage, RunRecord
from state.run_events import NodeUpdate
from state.status import RunStatus
from state.verdicts import GateVerdict

INSTRUCTIONS = (
    "Oversight of Waybill runs: list and search runs, read a run's timeline and gate verdicts "
    "(MAST failure-mode codes), list escalations waiting for a human, and trip kill or hold "
    "switches. " + HUMANS_ONLY
)
READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
KILL = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True)
HOLD = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True)


class OversightServer(FastMCP[Any]):
    """FastMCP that refuses (and audits) calls of tools it does not have."""

    def __init__(self, oversight: Oversight) -> None:
        super().__init__("waybill", instructions=INSTRUCTIONS, log_level="WARNING")
        self.oversight = oversight
        self._calls = 0
        self._leaving: int | None = None  # the stop signal received, if any

    async def call_tool(
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any]:
        """Call a tool; an unknown name (e.g. an attempt to decide an escalation) is refused."""
        self._calls += 1
        try:
            if self._tool_manager.get_tool(name) is None:
                who = self.oversight.who.name
                self.oversight.cp.audit.append(
                    who, "mcp.refused", name, {"arguments": sorted(arguments)}
                )
                raise ToolError(f"refused: '{name}' is not a tool of this server. {HUMANS_ONLY}")
            return await super().call_tool(name, arguments)
        finally:
            self._calls -= 1
            if self._leaving is not None and not self._calls:
                _leave(self._leaving)

    def stop_on_signals(self) -> None:
        """Ctrl+C or SIGTERM ends the server at once, or right after the tool call in progress
        (a switch it trips is audited before the process goes; a second signal does not wait).
        The MCP SDK's own stop waits for its stdin reader, a thread blocked on the next line: a
        Ctrl+C in a terminal did nothing until Enter. Call from the main thread, before
        ``run``."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            again, self._leaving = self._leaving is not None, signum
            if again or not self._calls:  # a second one does not wait for the call
                _leave(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, on_signal)


def _leave(signum: int) -> None:
    """End the process now (nothing is in flight): the stdin reader thread cannot be joined."""
    if signum == signal.SIGINT:
        with contextlib.suppress(OSError):  # stdout is the protocol's: a line on stderr
            sys.stderr.write(f"{after_echo(sys.stderr)}waybill: interrupted\n")
            sys.stderr.flush()
    os._exit(128 + signum)


def build_server(oversight: Oversight) -> OversightServer:
    """The MCP server with every oversight tool registered."""
    server = OversightServer(oversight)
    o = oversight

    @server.tool(
        annotations=READ,
        description=f"Runs, newest first, filtered by status or "
        f"workflow (limit: 1 to 500; offset: from 0). {HUMANS_ONLY}",
    )
    def list_runs(
        status: RunStatus | None = None,
        workflow: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> RunPage:
        return o.list_runs(status, workflow, limit, offset)

    @server.tool(
        annotations=READ,
        description="Recent runs whose id, workflow, stage, input, "
        f"user or reason contain the text (case-insensitive; limit: 1 to 500). {HUMANS_ONLY}",
    )
    def search_runs(query: str, limit: int = 20) -> list[RunRecord]:
        return o.search_runs(query, limit)

    @server.tool(
        annotations=READ,
        description="A run's timeline: what each node did (handoffs "
        "with payloads, agent decisions, gate verdicts with failed checks and MAST codes, "
        f"actions, human decisions), oldest first; the last `last` (1 to 10000). {HUMANS_ONLY}",
    )
    def run_timeline(run_id: str, last: int = 200) -> list[NodeUpdate]:
        return o.timeline(run_id, last)

    @server.tool(
        annotations=READ,
        description="Every gate verdict of a run (decision, checks, "
        f"MAST codes, reasons), oldest first. {HUMANS_ONLY}",
    )
    def run_verdicts(run_id: str) -> list[GateVerdict]:
        return o.verdicts(run_id)

    @server.tool(
        annotations=READ,
        description="Escalations waiting for a human decision, "
        f"oldest first (limit: 1 to 500). Read-only. {HUMANS_ONLY}",
    )
    def pending_escalations(limit: int = 50) -> list[PendingEscalation]:
        return o.pending(limit)

    @server.tool(annotations=READ, description=f"Kill and hold switches tripped now. {HUMANS_ONLY}")
    def kill_switches() -> list[KillSwitch]:
        return o.kill_switches()

    @server.tool(
        annotations=KILL,
        description="Trip a kill switch (scope global, workflow, "
        "agent or run; target: the workflow, stage or run id) with a reason: runs it "
        "covers stop at their next node boundary, waiting ones at once. Needs the admin "
        f"role; audited under your console user. {HUMANS_ONLY}",
    )
    def trip_kill_switch(scope: KillScope, reason: str, target: str | None = None) -> KillResult:
        return o.trip_kill_switch(scope, target, reason)

    @server.tool(
        annotations=HOLD,
        description="Trip a hold switch (scope global, workflow, agent or run; target: the "
        "workflow, stage or run id) with a reason: runs it covers stop at their next node "
        "boundary without ending (status held) and go on when a human releases the hold. "
        f"Needs the admin role; audited under your console user. {HUMANS_ONLY}",
    )
    def trip_hold_switch(scope: KillScope, reason: str, target: str | None = None) -> HoldResult:
        return o.trip_hold_switch(scope, target, reason)

    return server

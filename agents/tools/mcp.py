"""MCP servers as tool sets for agents, and MCP tools that change the world as Actions.

Example:
    >>> stock = McpServer.stdio("stock", "python", ["stock_server.py"], allow=("stock_level",))
    >>> Stage("check", check, Request, StockCheck, owner="ops", tools=(stock,))
    >>> reserve = mcp_action(stock, "reserve_stock", tier="approve", args=lambda o: {...})

Sessions are opened through ``langchain-mcp-adapters`` (stdio or streamable HTTP), one per
call: a stdio server is started for each call and stopped after it (simple and isolated; a
server that is slow to start is better reached over HTTP). Read-only tools go in ``allow`` and
agents call them through ``ctx.tools`` (taped, budgeted: ``graph.tools``); a tool with a side
effect is declared with :func:`mcp_action`, never allowed to agents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_mcp_adapters.sessions import (
    Connection,
    StdioConnection,
    StreamableHttpConnection,
    create_session,
)
from mcp.types import CallToolResult, TextContent

from graph.chain import Action
from graph.envelope import EnvelopeRule
from graph.tools import ToolResult
from state.contracts import Contract
from state.decisions import Tier
from state.errors import WaybillError
from state.sources import Source

OutT = TypeVar("OutT", bound=Contract)
T = TypeVar("T")


class McpToolError(WaybillError):
    """An MCP tool could not be called, or (for an action) reported an error."""


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to its end from sync code (in a thread of its own if a loop runs here)."""

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def tool_result(result: CallToolResult) -> ToolResult:
    """An MCP tool result as the tape keeps it."""
    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
    return ToolResult(text=text, data=result.structuredContent, is_error=result.isError)


@dataclass(frozen=True, eq=False)
class McpServer:
    """An MCP server: where it is, and which of its (read-only) tools agents may call."""

    name: str
    connection: Connection = field(repr=False)
    allow: tuple[str, ...] = ()
    timeout_s: float = 30.0

    @classmethod
    def stdio(
        cls,
        name: str,
        command: str,
        args: list[str],
        *,
        allow: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> McpServer:
        """A server started as a process speaking MCP on its stdin/stdout."""
        conn = StdioConnection(transport="stdio", command=command, args=list(args), env=env)
        return cls(name, conn, allow, timeout_s)

    @classmethod
    def http(
        cls,
        name: str,
        url: str,
        *,
        allow: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> McpServer:
        """A server reached over MCP's streamable HTTP transport at ``url``."""
        conn = StreamableHttpConnection(transport="streamable_http", url=url, headers=headers)
        return cls(name, conn, allow, timeout_s)

    async def _call(self, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        async with create_session(self.connection) as session:
            await session.initialize()
            result = await session.call_tool(tool, dict(arguments))
        return tool_result(result)

    def call(self, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call ``tool`` now (agents go through ``ctx.tools``, which tapes and budgets this).

        Raises:
            McpToolError: the server could not be reached or did not answer in time.
        """
        try:
            return run_sync(lambda: asyncio.wait_for(self._call(tool, arguments), self.timeout_s))
        except Exception as exc:
            detail = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise McpToolError(f"MCP server '{self.name}' tool '{tool}': {detail}") from None


def mcp_action(
    server: McpServer,
    tool: str,
    *,
    tier: Tier,
    args: Callable[[OutT], dict[str, Any]],
    name: str | None = None,
    key_argument: str | None = "idempotency_key",
    envelope: tuple[EnvelopeRule[OutT], ...] = (),
    retry_safe: bool = False,
    description: str = "",
) -> Action[OutT]:
    """An MCP tool that changes the world, as an Action with a tier: it runs only on a
    proposal its gate passed (after a human's approval when its tier says so), with the
    action's idempotency key passed as ``key_argument``; an error result is an unknown outcome.

    Raises:
        ValueError: the tool is in the server's ``allow`` list (agents could call it directly).
    """
    if tool in server.allow:
        raise ValueError(
            f"MCP tool '{tool}' of '{server.name}' is declared as an action and allowed to "
            "agents: take it out of allow (a world-changing tool is called only as an action)"
        )

    def run(out: OutT, key: str, sources: Mapping[str, Source]) -> dict[str, Any]:
        arguments = args(out) | ({key_argument: key} if key_argument else {})
        result = server.call(tool, arguments)
        if result.is_error:
            raise McpToolError(f"MCP tool '{tool}' of '{server.name}' failed: {result.text}")
        return {"text": result.text, "data": result.data}

    return Action(
        name=name or tool,
        tier=tier,
        run=run,
        args=args,
        envelope=envelope,
        description=description or f"MCP tool {server.name}/{tool}",
        retry_safe=retry_safe,
    )

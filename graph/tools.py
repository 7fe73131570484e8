"""Tools an agent may call while it works (e.g. from MCP servers), through the run's tape.

A stage declares its tool sets (``Stage(..., tools=(server,))``); each names the tools agents
may call. An agent calls them through ``ctx.tools.call(name, **arguments)``, and every call:

- is checked against the tools the stage declared (anything else is refused: a tool that
  changes the world is declared as an :class:`~graph.chain.Action` with a tier instead, so it
  runs only on a proposal its gate passed, after any human approval — never from the agent);
- is counted against the run's ``max_tool_calls`` budget *before* it is made;
- goes through the run's tape with its result: a node re-run on resume, and ``waybill replay``,
  get the recorded result and make no call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from graph.budget import BudgetExhausted
from state.errors import WaybillError


class ToolResult(BaseModel):
    """What a tool returned: its text, its structured content, whether it reported an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = ""
    data: dict[str, Any] | None = Field(default=None, description="Structured content, if any.")
    is_error: bool = False


class ToolSet(Protocol):
    """A source of tools (an MCP server): its name, the tools agents may call, a call."""

    @property
    def name(self) -> str:
        """The tool set's name (its tape entries and errors name it)."""
        ...

    @property
    def allow(self) -> tuple[str, ...]:
        """The tools agents may call (read-only tools; world-changing ones are Actions)."""
        ...

    def call(self, tool: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call ``tool`` now (no tape, no budget: :class:`ToolBox` adds those)."""
        ...


class ToolNotAllowedError(WaybillError):
    """An agent asked for a tool its stage did not declare (the agent's handoff fails)."""


Recorder = Callable[[str, Callable[[], Any]], Any]
"""``(tape key, compute)`` -> the recorded value, computing (and recording) it if missing."""


def _live(key: str, compute: Callable[[], Any]) -> Any:
    return compute()


class ToolBox:
    """The tools of one agent call, on the tape and within the budget."""

    def __init__(
        self,
        sets: tuple[ToolSet, ...] = (),
        *,
        scope: str = "",
        record: Recorder = _live,
        calls_left: int | None = None,
        calls_limit: int | None = None,
    ) -> None:
        self._by_tool = {tool: s for s in sets for tool in s.allow}
        self._scope = scope
        self._record = record
        self._left = calls_left
        self._limit = calls_limit
        self._counts: dict[str, int] = {}
        self.calls = 0
        """Tool calls this agent call made (replayed ones included: they were made once)."""

    @property
    def names(self) -> list[str]:
        """The tools this agent may call."""
        return sorted(self._by_tool)

    def call(self, tool: str, **arguments: Any) -> ToolResult:
        """Call ``tool`` with ``arguments`` (recorded on the tape; counted in the budget).

        Raises:
            ToolNotAllowedError: the stage did not declare the tool.
            BudgetExhausted: the run's ``max_tool_calls`` is spent (the call is not made).
        """
        toolset = self._by_tool.get(tool)
        if toolset is None:
            allowed = ", ".join(self.names) or "none"
            raise ToolNotAllowedError(
                f"tool '{tool}' is not one this stage may call (it may call: {allowed})"
            )
        if self._left is not None and self.calls >= self._left:
            spent = (self._limit or 0) - self._left + self.calls
            raise BudgetExhausted(
                f"budget:tool_calls would be exceeded by a call of '{tool}': {spent} of "
                f"{self._limit} tool calls made"
            )
        n = self._counts.get(tool, 0)
        self._counts[tool] = n + 1
        self.calls += 1
        key = f"tool|{self._scope}|{toolset.name}/{tool}|{n}"
        recorded = self._record(
            key,
            lambda: {
                "arguments": json.loads(json.dumps(arguments, default=str)),
                "result": toolset.call(tool, arguments).model_dump(mode="json"),
            },
        )
        return ToolResult.model_validate(recorded["result"])

"""Budgets bound every run: no chain may loop or spend without a limit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Budgets(BaseModel):
    """Run-wide limits checked by every gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_steps: int = Field(default=40, ge=1, description="Stage executions per run.")
    max_revisions_per_edge: int = Field(default=2, ge=0, description="Revise loops per edge.")
    max_wall_s: float = Field(default=600.0, gt=0, description="Wall-clock seconds per run.")
    max_tokens: int | None = Field(default=None, ge=0, description="Model tokens per run.")
    max_cost: float | None = Field(default=None, ge=0, description="Model cost per run.")
    max_tool_calls: int | None = Field(
        default=None, ge=0, description="Tool calls (MCP tools) per run, checked before each."
    )

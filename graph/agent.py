"""What an agent is: a function from its input contract to its output contract + a decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from graph.budget import BudgetLeft
from graph.context import Source
from state.contracts import Contract
from state.decisions import DecisionRecord

OutT = TypeVar("OutT", bound=Contract, covariant=True)


@dataclass(frozen=True)
class AgentContext:
    """What an agent may know besides its input contract."""

    run_id: str
    stage: str
    attempt: int
    """1 for the first try; more when a gate asked for a revision."""
    feedback: list[str] = field(default_factory=list)
    """The gate's reasons for asking for this revision."""
    sources: Mapping[str, Source] = field(default_factory=dict)
    budget: BudgetLeft = field(default_factory=BudgetLeft)
    """What is left of the run's token and cost budgets: check it before a model call."""


@dataclass(frozen=True)
class AgentResult(Generic[OutT]):
    """An agent's output contract and the record of how it chose it."""

    output: OutT
    decision: DecisionRecord


Agent = Callable[[Contract, AgentContext], AgentResult[Contract]]
"""An agent. Agents are pure: side effects are declared as stage actions, never done here."""

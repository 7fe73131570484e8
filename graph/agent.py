"""What an agent is: a function from its input contract to its output contract + a decision.

An agent returns an :class:`AgentResult` of the contract its stage produces. When it could not
produce a valid one (a model's malformed answer), it says so with :meth:`AgentResult.invalid`
and the raw payload: the gate judges that payload like any other, and fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graph.budget import BudgetLeft
from graph.tools import ToolBox
from state.contracts import Contract
from state.decisions import DecisionRecord
from state.sources import Source

InT = TypeVar("InT", bound=Contract, contravariant=True)
OutT = TypeVar("OutT", bound=Contract)


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
    tools: ToolBox = field(default_factory=ToolBox)
    """The tools the stage declared (``tools.call(name, **arguments)``): on the run's tape,
    counted in its budget."""


@dataclass(frozen=True)
class AgentResult(Generic[OutT]):
    """An agent's output contract (or what it produced instead) and how it chose it."""

    output: OutT | None
    decision: DecisionRecord
    raw: Mapping[str, Any] | None = None
    """What the agent produced when it is not a valid contract (``output`` is None then)."""

    @classmethod
    def invalid(cls, raw: Mapping[str, Any], decision: DecisionRecord) -> AgentResult[OutT]:
        """A result whose payload does not fit the contract: handed to the gate as it is."""
        return cls(None, decision, dict(raw))

    def payload(self) -> dict[str, Any]:
        """The payload handed to the gate: the contract as JSON, or the raw answer."""
        if self.output is not None:
            return self.output.model_dump(mode="json")
        return dict(self.raw or {})


def decided(output: OutT, chosen: str, rationale: str, **record: Any) -> AgentResult[OutT]:
    """An agent's result: ``output``, with what it chose and why (``record``: the other
    :class:`DecisionRecord` fields, e.g. ``agent``, ``alternatives``, ``inputs_used``)."""
    return AgentResult(output, DecisionRecord(chosen=chosen, rationale=rationale, **record))


Agent = Callable[[InT, AgentContext], AgentResult[OutT]]
"""An agent. Agents are pure: side effects are declared as stage actions, never done here."""

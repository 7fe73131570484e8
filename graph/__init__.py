"""Declaring a workflow — everything a fork needs to write one, from one import.

Example:
    >>> from graph import Chain, Stage, Edge, END, Contract, Carried, AgentResult, invariant

Stages, typed handoff edges with gates, actions with autonomy tiers, domain invariants, faults
to test the chain with, budgets; the contracts and records the agents fill in. Executing runs
is ``graph.runtime``'s concern (workers, the run service, replay).
"""

from graph.agent import AgentContext, AgentResult, decided
from graph.chain import (
    Action,
    Chain,
    Edge,
    Effect,
    Fault,
    FaultContext,
    Invariant,
    InvariantContext,
    Json,
    Stage,
    fault,
    invariant,
)
from graph.context import source_of
from graph.envelope import EnvelopeRule, above, envelope
from graph.examples import examples_of
from state.budgets import Budgets
from state.contracts import Carried, Contract, Fact
from state.decisions import DecisionDeadline, DecisionRecord
from state.nodes import END, act_node, gate_node
from state.sources import Source

__all__ = [
    "END",
    "Action",
    "AgentContext",
    "AgentResult",
    "Budgets",
    "Carried",
    "Chain",
    "Contract",
    "DecisionDeadline",
    "DecisionRecord",
    "Edge",
    "Effect",
    "EnvelopeRule",
    "Fact",
    "Fault",
    "FaultContext",
    "Invariant",
    "InvariantContext",
    "Json",
    "Source",
    "Stage",
    "above",
    "act_node",
    "decided",
    "envelope",
    "examples_of",
    "fault",
    "gate_node",
    "invariant",
    "source_of",
]

"""Typed references to the nodes of a compiled chain: a stage, the gate or human review of an
edge, the act node of a stage. Events, verdicts, faults and the console name nodes with these,
never by formatting or parsing strings like ``"gate A->B"`` (only LangGraph needs the names)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

END = "__end__"
"""Target of the edge by which the finishing stage ends the run."""

NodeKind = Literal["stage", "gate", "review", "act"]


def edge_id(source: str, target: str) -> str:
    """``A->B``: how an edge is named in verdicts, counters and the console."""
    return f"{source}->{'END' if target == END else target}"


class NodeRef(BaseModel):
    """One node: its kind, its stage (the producer, for a gate or review), its edge's target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NodeKind
    stage: str
    target: str = ""
    """The consuming stage (or END) of a gate's or review's edge; empty otherwise."""

    @property
    def edge(self) -> str:
        """``A->B`` for a gate or review (empty for a stage or act node)."""
        return edge_id(self.stage, self.target) if self.target else ""

    @property
    def name(self) -> str:
        """The node's name in the compiled LangGraph graph."""
        if self.kind in ("gate", "review"):
            return f"{self.kind} {self.edge}"
        if self.kind == "act":
            return f"act {self.stage}"
        return self.stage

    def __str__(self) -> str:
        return self.name


def stage_node(name: str) -> NodeRef:
    """The node of stage ``name``."""
    return NodeRef(kind="stage", stage=name)


def gate_node(source: str, target: str) -> NodeRef:
    """The gate of edge ``source -> target``."""
    return NodeRef(kind="gate", stage=source, target=target)


def review_node(source: str, target: str) -> NodeRef:
    """The human review of edge ``source -> target``."""
    return NodeRef(kind="review", stage=source, target=target)


def act_node(stage: str) -> NodeRef:
    """The node that commits stage ``stage``'s passed proposal and runs its actions."""
    return NodeRef(kind="act", stage=stage)
